// Command fileserver serves a folder over plain HTTP: the baseline
// bench/passthrough.sh compares `opaprules serve` against, so both sides
// read the same file over loopback with Go's sendfile path.
package main

import (
	"flag"
	"log"
	"net/http"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18090", "listen address")
	dir := flag.String("dir", ".", "folder to serve")
	flag.Parse()
	log.Fatal(http.ListenAndServe(*addr, http.FileServer(http.Dir(*dir))))
}
