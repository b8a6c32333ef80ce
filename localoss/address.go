package localoss

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"strings"
)

const aliasSuffix = "-opapalias"

// role is what a request addresses.
type role int

const (
	roleBucket      role = iota + 1 // the bucket itself: the origin
	roleAccessPoint                 // an Object FC Access Point
)

// target is the resolved address of a request.
type target struct {
	role        role
	key         string // decoded object key; "" for the bucket root
	accessPoint string // access point name (roleAccessPoint)
	alias       string // access point alias (roleAccessPoint)
	// aliasPathStyle is set when the alias was the first path segment.
	aliasPathStyle bool
	// resources are the canonical resources a signature may cover, most
	// likely first.
	resources []string
}

// Alias returns the alias this server gives an access point name, of the
// form "<name>-<hash>-opapalias" like real ones. Any well-formed alias is
// accepted by the server; this one is what the default access point reports
// in events and what tests can address a named access point by.
func (s *Server) Alias(accessPoint string) string {
	sum := sha256.Sum256([]byte(s.cfg.Bucket + "/" + accessPoint))
	return accessPoint + "-" + hex.EncodeToString(sum[:])[:24] + aliasSuffix
}

// parseAlias returns the access point name of an alias, or "" when label is
// not one.
func parseAlias(label string) string {
	if !strings.HasSuffix(label, aliasSuffix) || !validAccessPointName(label) {
		return ""
	}
	prefix := strings.TrimSuffix(label, aliasSuffix)
	i := strings.LastIndexByte(prefix, '-')
	if i <= 0 || i == len(prefix)-1 {
		return ""
	}
	return prefix[:i]
}

// hostLabel returns the first DNS label of the request's host, or "" when the
// host is an IP address or a single label (then it cannot be virtual-host
// addressing).
func hostLabel(hostport string) string {
	host := strings.ToLower(hostport)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if net.ParseIP(strings.Trim(host, "[]")) != nil {
		return ""
	}
	i := strings.IndexByte(host, '.')
	if i <= 0 {
		return ""
	}
	return host[:i]
}

// VirtualHosted reports whether host addresses the bucket or an access
// point alias virtual-host style ("<alias>.<anything>"), so that every
// path on it is an object key. A server mounting its own pages on a path
// prefix of the plain address leaves such hosts alone.
func (s *Server) VirtualHosted(host string) bool {
	label := hostLabel(host)
	return label != "" && (parseAlias(label) != "" || label == s.cfg.Bucket)
}

// resolve works out which role r addresses. Virtual-host addressing wins
// over path style; a path whose first segment is neither an alias nor the
// bucket goes to the default access point, with the whole path as the key.
func (s *Server) resolve(r *http.Request) target {
	p := r.URL.Path
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	if label := hostLabel(r.Host); label != "" {
		if ap := parseAlias(label); ap != "" {
			return target{role: roleAccessPoint, key: p[1:], accessPoint: ap, alias: label,
				resources: []string{"/" + label + p}}
		}
		if label == s.cfg.Bucket {
			return target{role: roleBucket, key: p[1:], resources: []string{"/" + label + p}}
		}
	}
	seg, rest, _ := strings.Cut(p[1:], "/")
	if ap := parseAlias(seg); ap != "" {
		return target{role: roleAccessPoint, key: rest, accessPoint: ap, alias: seg,
			aliasPathStyle: true, resources: []string{p}}
	}
	if seg == s.cfg.Bucket {
		return target{role: roleBucket, key: rest, resources: []string{p}}
	}
	// No bucket in the URL: a client using a custom domain (CNAME) signs
	// for whatever bucket it was configured with.
	return target{role: roleAccessPoint, key: p[1:], accessPoint: s.cfg.DefaultAccessPoint,
		alias: s.defaultAlias, resources: []string{"/" + s.defaultAlias + p, "/" + s.cfg.Bucket + p, p}}
}
