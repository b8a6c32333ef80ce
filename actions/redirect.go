package actions

import (
	"context"
	"fmt"
	"net/url"
	"strings"
)

func init() {
	Register(Definition{
		Name:    "redirect",
		Summary: "Answer with a 301, 302 or 303 redirect; the origin is never read.",
		Doc: "`location` is a path, or an absolute http(s) URL whose host is in `allowed_hosts`. " +
			"Templates are checked per request, so there are no open redirects. The origin is never " +
			"read.",
		Class: Terminal,
		New:   func() Action { return &Redirect{Status: 302} },
	})
}

// Redirect sends the client elsewhere. An absolute location must name a host
// in allowed_hosts, so a template fed from the query cannot turn the bucket
// into an open redirector.
type Redirect struct {
	Status       int      `yaml:"status" enum:"301,302,303" doc:"301, 302 (default) or 303"`
	Location     string   `yaml:"location" required:"true" escape:"url" doc:"a path such as /thumbs/${ base }, or an absolute http(s) URL on an allowed host; may use ${ }: a value in the path is escaped as path segments (/ kept), one after ? as a query value"`
	AllowedHosts []string `yaml:"allowed_hosts" doc:"hosts an absolute location may point to; *.example.com allows subdomains"`
}

// Validate refuses open redirects and header-splitting locations. It runs at
// load for a literal location and per request for a templated one.
func (r *Redirect) Validate() error {
	switch r.Status {
	case 301, 302, 303:
	default:
		return fmt.Errorf("status: %d is not one of 301, 302, 303", r.Status)
	}
	for _, h := range r.AllowedHosts {
		if h == "" || strings.ContainsAny(h, "/:@ ") {
			return fmt.Errorf("allowed_hosts: %q is not a host name", h)
		}
	}
	return r.checkLocation()
}

func (r *Redirect) checkLocation() error {
	loc := r.Location
	if loc == "" {
		return fmt.Errorf("location: is empty")
	}
	if err := checkHeaderValue("location", loc); err != nil {
		return err
	}
	// Browsers read a backslash as a slash, so /\evil.example is //evil.example.
	if strings.Contains(loc, `\`) {
		return fmt.Errorf("location: %q must not contain a backslash", loc)
	}
	u, err := url.Parse(loc)
	if err != nil {
		return fmt.Errorf("location: %q is not a URL", loc)
	}
	if u.Scheme == "" && u.Host == "" && !strings.HasPrefix(loc, "//") {
		return nil // a path on this endpoint
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("location: %q must be a path or an http(s) URL", loc)
	}
	if !r.hostAllowed(u.Hostname()) {
		return fmt.Errorf("location: host %q is not in allowed_hosts", u.Hostname())
	}
	return nil
}

func (r *Redirect) hostAllowed(host string) bool {
	host = strings.ToLower(host)
	for _, h := range r.AllowedHosts {
		h = strings.ToLower(h)
		if suffix, ok := strings.CutPrefix(h, "*."); ok {
			if strings.HasSuffix(host, "."+suffix) {
				return true
			}
			continue
		}
		if host == h {
			return true
		}
	}
	return false
}

// Apply sets the status and Location; the body is empty.
func (r *Redirect) Apply(_ context.Context, obj *Object) error {
	obj.Status = r.Status
	obj.Header.Set("Location", escapeUnsafe(r.Location))
	obj.SetBody(nil, 0)
	return nil
}

// escapeUnsafe percent-encodes what cannot stand in a URI: spaces and
// every byte outside printable ASCII, bidi controls such as U+202E
// included, so a location assembled inside one ${ } (which the template
// cannot escape by position) still goes out as a URI. Interpolated values
// arrive escaped already and pass unchanged.
func escapeUnsafe(loc string) string {
	const hex = "0123456789ABCDEF"
	var b []byte
	for i := 0; i < len(loc); i++ {
		c := loc[i]
		if c > ' ' && c < 0x7f {
			if b != nil {
				b = append(b, c)
			}
			continue
		}
		if b == nil {
			b = append(make([]byte, 0, len(loc)+16), loc[:i]...)
		}
		b = append(b, '%', hex[c>>4], hex[c&15])
	}
	if b == nil {
		return loc
	}
	return string(b)
}

// Interface guards (see docs/adding-an-action.md).
var (
	_ Action    = (*Redirect)(nil)
	_ Validator = (*Redirect)(nil)
)
