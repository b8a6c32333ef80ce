package localoss

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/xml"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
)

// postWGORV1 sends a WriteGetObjectResponse signed with OSS V1 the way
// oss2 (auth.py: __get_string_to_sign, its sub-resource list includes
// x-oss-write-get-object-response) and the Java SDK (SignUtils with
// SignParameters) do, over the given canonical resource. It is written
// out here, apart from the server's signer, so the test does not grade
// the server with its own code.
func postWGORV1(ev testEvent, path, resource string, status int, fwd map[string]string, body, ak, sk, token string) error {
	route := ev.GetObjectContext.OutputRoute
	req, err := http.NewRequest("POST", "http://"+route+path+"?x-oss-write-get-object-response", strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("x-oss-request-route", route)
	req.Header.Set("x-oss-request-token", ev.GetObjectContext.OutputToken)
	req.Header.Set("x-oss-fwd-status", strconv.Itoa(status))
	for k, v := range fwd {
		req.Header.Set("x-oss-fwd-header-"+k, v)
	}
	if token != "" {
		req.Header.Set("x-oss-security-token", token)
	}
	var oss []string
	for k, vs := range req.Header {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-oss-") {
			oss = append(oss, lk+":"+vs[0]+"\n")
		}
	}
	sort.Strings(oss)
	toSign := "POST\n\n" + req.Header.Get("Content-Type") + "\n" + req.Header.Get("Date") + "\n" + strings.Join(oss, "") + resource
	mac := hmac.New(sha1.New, []byte(sk))
	mac.Write([]byte(toSign))
	req.Header.Set("Authorization", "OSS "+ak+":"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return v1ServiceError(resp.StatusCode, b)
	}
	return nil
}

// v1ServiceError reads an OSS error document the way the SDK does, so
// callers can treat both senders alike.
func v1ServiceError(status int, body []byte) error {
	e := oss.ServiceError{StatusCode: status, RawMessage: string(body)}
	_ = xml.Unmarshal(body, &e)
	return e
}
