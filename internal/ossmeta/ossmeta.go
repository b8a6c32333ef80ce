// Package ossmeta reads the metadata sidecar of an object kept as a local
// file: "<key>.ossmeta.json", a JSON object of the response headers OSS
// would have stored with it (Content-Type, Cache-Control,
// Content-Encoding, Content-Disposition, x-oss-meta-*, ...). The local OSS
// server (serve) and the local runs (dry-run, test, the playground) read
// the same sidecars the same way, so a rule that reads object.meta or an
// original stored gzip-encoded behaves alike in all of them.
package ossmeta

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/textproto"
	"strings"
)

// Suffix marks a sidecar. Sidecars are not objects themselves.
const Suffix = ".ossmeta.json"

// MaxSize bounds a sidecar; OSS bounds user metadata to 8 KB.
const MaxSize = 64 << 10

// allowed lists the headers other than x-oss-meta-* a sidecar may set:
// those OSS stores with an object and returns on GetObject.
var allowed = map[string]bool{
	"Content-Type": true, "Cache-Control": true, "Content-Encoding": true,
	"Content-Disposition": true, "Content-Language": true, "Expires": true,
	"X-Oss-Storage-Class": true, "X-Oss-Object-Type": true,
	"X-Oss-Server-Side-Encryption": true, "X-Oss-Tagging-Count": true,
}

// IsSidecar reports whether name is a sidecar rather than an object.
func IsSidecar(name string) bool { return strings.HasSuffix(name, Suffix) }

// Decode reads one sidecar from r, at most MaxSize bytes of it.
func Decode(r io.Reader) (http.Header, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxSize {
		return nil, errors.New("larger than 64 KiB")
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	h := http.Header{}
	for k, v := range m {
		ck := textproto.CanonicalMIMEHeaderKey(k)
		if !allowed[ck] && !strings.HasPrefix(ck, "X-Oss-Meta-") {
			return nil, fmt.Errorf("header %q cannot be set by a sidecar", k)
		}
		h.Set(ck, v)
	}
	return h, nil
}

// ErrNotRegular is returned for a sidecar that is not a regular file.
var ErrNotRegular = errors.New("not a regular file")

// ReadFS reads the sidecar of the object name in fsys: nil when it has
// none. The sidecar is checked to be a regular file before it is opened,
// since opening a FIFO would block.
func ReadFS(fsys fs.FS, name string) (http.Header, error) {
	st, err := fs.Stat(fsys, name+Suffix)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, ErrNotRegular
	}
	f, err := fsys.Open(name + Suffix)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Decode(f)
}
