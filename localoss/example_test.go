package localoss_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"github.com/opaprules/opaprules/localoss"
)

// A function that upper-cases objects, wired in process: it reads the
// original through inputOssUrl and answers with WriteGetObjectResponse, in
// the SDK call shape a real handler uses.
func Example() {
	dir, err := os.MkdirTemp("", "localoss-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hello, world"), 0o644); err != nil {
		log.Fatal(err)
	}

	const ak, sk = "LTAI5tExample", "example-secret"
	function := func(ctx context.Context, event []byte) error {
		var ev struct {
			GetObjectContext struct {
				InputOssUrl, OutputRoute, OutputToken string
			}
		}
		if err := json.Unmarshal(event, &ev); err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, "GET", ev.GetObjectContext.InputOssUrl, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		original, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}

		client, err := oss.New("http://"+ev.GetObjectContext.OutputRoute, ak, sk,
			oss.AuthVersion(oss.AuthV4), oss.Region("cn-hangzhou"))
		if err != nil {
			return err
		}
		out, err := client.Conn.Do("POST", "", "",
			map[string]interface{}{"x-oss-write-get-object-response": nil},
			map[string]string{
				"x-oss-request-route":           ev.GetObjectContext.OutputRoute,
				"x-oss-request-token":           ev.GetObjectContext.OutputToken,
				"x-oss-fwd-status":              "200",
				"x-oss-fwd-header-Content-Type": "text/plain",
			},
			// A *bytes.Reader (or *io.LimitedReader) lets the SDK send a
			// Content-Length, which WriteGetObjectResponse requires.
			bytes.NewReader(bytes.ToUpper(original)), 0, nil)
		if err != nil {
			return err
		}
		return out.Body.Close()
	}

	srv, err := localoss.New(localoss.Config{
		Dir:             dir,
		AccessKeyID:     ak,
		AccessKeySecret: sk,
		Invoke:          function,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv)
	defer hs.Close()

	resp, err := http.Get(hs.URL + "/hello.txt?w=200")
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"), string(body))
	// Output: 200 text/plain HELLO, WORLD
}
