package engine

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

// Issue #10, finding 3: ip took the first X-Forwarded-For entry, or
// X-Real-Ip, both of which the client writes: a !cidr(ip, "10.0.0.0/8")
// deny was passed with -H 'X-Forwarded-For: 10.0.0.1'.
func TestClientIP(t *testing.T) {
	ours := []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("2001:db8::/32")}
	for _, tc := range []struct {
		name    string
		xff     []string
		realIP  string
		trusted []netip.Prefix
		want    string
	}{
		{name: "no headers", want: ""},
		{name: "one hop", xff: []string{"203.0.113.9"}, want: "203.0.113.9"},
		{name: "forged first entry, appended real address", xff: []string{"10.0.0.1, 203.0.113.9"}, want: "203.0.113.9"},
		{name: "forged entry only", xff: []string{"10.0.0.1"}, want: "10.0.0.1"}, // what the nearest hop saw: nothing else is known
		{name: "repeated header lines", xff: []string{"10.0.0.1", "203.0.113.9"}, want: "203.0.113.9"},
		{name: "X-Real-Ip alone is not believed", realIP: "10.0.0.1", want: ""},
		{name: "X-Real-Ip from an untrusted hop", xff: []string{"203.0.113.9"}, realIP: "10.0.0.1", want: "203.0.113.9"},
		{name: "trusted proxies skipped from the right", xff: []string{"10.0.0.1, 203.0.113.9, 198.51.100.7"}, trusted: ours, want: "203.0.113.9"},
		{name: "two trusted hops", xff: []string{"10.0.0.1, 203.0.113.9, 198.51.100.7, 198.51.100.8"}, trusted: ours, want: "203.0.113.9"},
		{name: "all trusted: X-Real-Ip", xff: []string{"198.51.100.7"}, realIP: "192.0.2.1", trusted: ours, want: "192.0.2.1"},
		{name: "all trusted, no X-Real-Ip: leftmost", xff: []string{"198.51.100.9, 198.51.100.7"}, trusted: ours, want: "198.51.100.9"},
		{name: "garbage at the nearest hop fails closed", xff: []string{"10.0.0.1, bogus"}, want: ""},
		{name: "garbage behind a trusted hop fails closed", xff: []string{"10.0.0.1, bogus, 198.51.100.7"}, trusted: ours, want: ""},
		{name: "garbage beyond the client is ignored", xff: []string{"bogus, 203.0.113.9"}, want: "203.0.113.9"},
		{name: "port", xff: []string{"203.0.113.9:4711"}, want: "203.0.113.9"},
		{name: "IPv6 with port", xff: []string{"[2001:db9::1]:443"}, want: "2001:db9::1"},
		{name: "IPv4-mapped IPv6", xff: []string{"::ffff:203.0.113.9"}, want: "203.0.113.9"},
		{name: "trusted IPv6", xff: []string{"203.0.113.9, 2001:db8::7"}, trusted: ours, want: "203.0.113.9"},
		{name: "empty entries", xff: []string{" , "}, want: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tc.xff {
				h.Add("X-Forwarded-For", v)
			}
			if tc.realIP != "" {
				h.Set("X-Real-Ip", tc.realIP)
			}
			if got := clientIP(h, tc.trusted); got != tc.want {
				t.Errorf("clientIP = %q, want %q", got, tc.want)
			}
		})
	}
}

// FuzzClientIP: whatever a client puts before the entries the proxies
// append, ip is the rightmost untrusted appended one, or "" when one of
// them is unreadable; and it is never an address from a trusted network
// unless every hop is trusted.
func FuzzClientIP(f *testing.F) {
	f.Add("10.0.0.1", "203.0.113.9", "")
	f.Add("", "", "10.0.0.1")
	f.Add("1.2.3.4, 5.6.7.8", "[::1]:80", "x")
	f.Add("\x00,,", "198.51.100.7", "198.51.100.1")
	trusted := []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}
	f.Fuzz(func(t *testing.T, forged, appended, realIP string) {
		h := http.Header{}
		if forged != "" {
			h.Add("X-Forwarded-For", forged)
		}
		// The real client, appended by the front end, then one of ours.
		h.Add("X-Forwarded-For", "203.0.113.9")
		h.Add("X-Forwarded-For", "198.51.100.7")
		h.Set("X-Real-Ip", realIP)
		if got := clientIP(h, trusted); got != "203.0.113.9" {
			t.Fatalf("forged %q, X-Real-Ip %q: clientIP = %q, want the appended 203.0.113.9", forged, realIP, got)
		}
		h.Add("X-Forwarded-For", appended)
		got := clientIP(h, trusted)
		if got == "" {
			return
		}
		a, err := netip.ParseAddr(got)
		if err != nil {
			t.Fatalf("clientIP = %q, not an address", got)
		}
		if trusted[0].Contains(a) {
			t.Fatalf("appended %q: clientIP = %q, a trusted proxy", appended, got)
		}
		entries := strings.Split(appended, ",")
		if last, ok := parseHop(strings.TrimSpace(entries[len(entries)-1])); ok && !trusted[0].Contains(last) && last != a {
			t.Fatalf("appended %q: clientIP = %q, want the nearest hop's %s", appended, got, last)
		}
	})
}
