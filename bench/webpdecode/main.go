// Command webpdecode times github.com/deepteams/webp decoding one file, in
// process: bench/decoders.sh builds it against two versions of the module
// (the one go.mod pins and an older one) and runs them in turn, so an
// upgrade is judged by a ratio measured in one run. It imports nothing
// else of this repository, so it builds in a scratch module too.
//
//	webpdecode FILE N    decode FILE N times; print one JSON line
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"time"

	"github.com/deepteams/webp"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: webpdecode FILE N")
		os.Exit(2)
	}
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		fatal(err)
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil || n < 1 {
		fatal(fmt.Errorf("N: %q", os.Args[2]))
	}
	var ms []float64
	var kind string
	for range n {
		start := time.Now()
		m, err := webp.Decode(bytes.NewReader(data))
		if err != nil {
			fatal(err)
		}
		ms = append(ms, float64(time.Since(start).Microseconds())/1000)
		kind = fmt.Sprintf("%T %v", m, m.Bounds().Size())
	}
	slices.Sort(ms)
	version := "?"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/deepteams/webp" {
				version = d.Version
			}
		}
	}
	_ = json.NewEncoder(os.Stdout).Encode(map[string]any{
		"version": version, "image": kind, "median_ms": ms[len(ms)/2], "min_ms": ms[0],
	})
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "webpdecode:", err)
	os.Exit(1)
}
