package cli

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/opaprules/opaprules/localoss"
	"github.com/opaprules/opaprules/playground"
)

// serve's plain address answers /-/ itself; a Host that names an alias
// or the bucket reaches the object even when its key starts with -/.
func TestMountPlayground(t *testing.T) {
	origin := fstest.MapFS{"-/note.txt": {Data: []byte("dash")}, "a.txt": {Data: []byte("plain")}}
	srv, err := localoss.New(localoss.Config{FS: origin, Invoke: func(context.Context, []byte) error { return nil }, InvokeTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	pg, err := playground.New(playground.Config{Origin: origin, Bucket: localoss.DefaultBucket, AccessPoint: "local", AliasPath: "/" + srv.Alias("local")})
	if err != nil {
		t.Fatal(err)
	}
	if !pg.OriginHasReservedPrefix() {
		t.Error("the origin's -/ folder went unnoticed")
	}
	ts := httptest.NewServer(mountPlayground(srv, pg))
	defer ts.Close()
	alias := srv.Alias("local")
	for _, c := range []struct {
		host, path string
		status     int
		want       string
	}{
		{"", "/-/api/objects", 200, `"key":"-/note.txt"`},
		{"", "/-/note.txt", 404, "<Code>ReservedPrefix</Code>"},
		{"", "/local/-/note.txt", 200, "dash"},                     // the bucket, path style
		{"local.localhost", "/-/note.txt", 200, "dash"},            // the bucket, virtual-host style
		{alias + ".localhost", "/-/api/objects", 404, "NoSuchKey"}, // an alias: every path is a key
		{"", "/" + alias + "/-/api/objects", 404, "NoSuchKey"},     // the same, path style
		{"", "/local/a.txt", 200, "plain"},
	} {
		req, _ := http.NewRequest("GET", ts.URL+c.path, nil)
		if c.host != "" {
			req.Host = c.host
		}
		// HEAD through an access point goes to the origin without an
		// invocation; GET of the bucket reads it directly.
		if strings.Contains(c.host, "opapalias") || strings.Contains(c.path, "opapalias") {
			req.Method = http.MethodHead
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || (req.Method == http.MethodGet && !strings.Contains(string(b), c.want)) {
			t.Errorf("%s %s%s: %d %q, want %d with %q", req.Method, c.host, c.path, resp.StatusCode, b, c.status, c.want)
		}
	}
}
