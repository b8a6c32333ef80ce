package localoss

import (
	"net/http"
	"testing"
)

// HEAD goes to the origin, so a 200 means the signature was accepted.
// The Node SDK ali-oss sends x-oss-date instead of Date and signs it in
// the date slot of the V1 string to sign; OSS accepts that, and so must we.
func TestV1WithXOSSDateInsteadOfDate(t *testing.T) {
	f := newFixture(t, Config{AccessKeyID: "LTAIxossdate0001", AccessKeySecret: "s3cret", RequireClientAuth: true}, map[string]string{"a.txt": "hello"})
	date := f.clock.Now().UTC().Format(http.TimeFormat)
	alias := f.srv.Alias("media")
	resource := "/" + alias + "/a.txt"
	sign := func(secret string) string {
		sts := stringToSignV1(http.MethodHead, "", "", date, []headerLine{{"x-oss-date", date}}, resource)
		return "OSS LTAIxossdate0001:" + signV1(secret, sts)
	}
	for _, tc := range []struct {
		secret string
		status int
	}{{"s3cret", 200}, {"wrong", 403}} {
		resp, body := f.do(http.MethodHead, "/a.txt", map[string]string{
			"Host":          alias + ".oss.test",
			"x-oss-date":    date,
			"Authorization": sign(tc.secret),
		})
		if resp.StatusCode != tc.status {
			t.Errorf("secret %q: %d %s", tc.secret, resp.StatusCode, body)
		}
	}
}
