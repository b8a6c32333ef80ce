package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"runtime/debug"
	"sync"

	"github.com/opaprules/opaprules/actions"
	"github.com/opaprules/opaprules/rules"
)

// derivedETag names the bytes a transforming plan makes from one origin
// object: it hashes the origin's ETag, the build (encoders change between
// versions), every step with its resolved parameters, and the request
// inputs an action negotiated on (format: auto's accepted formats), and any
// outside state an action declares (a redaction key's fingerprint). Equal
// ETags mean equal bytes, so a CDN or browser can revalidate with
// If-None-Match and get a 304 without the plan running. Without an origin
// ETag there is no honest ETag to give, and none is given.
func derivedETag(originETag string, plan *rules.Plan, req *actions.Request) string {
	if originETag == "" {
		return ""
	}
	h := sha256.New()
	write := func(s string) { h.Write([]byte(s)); h.Write([]byte{0}) }
	write(buildID())
	write(originETag)
	for _, s := range plan.Steps {
		if s.Class == actions.Metadata {
			continue // headers do not change the bytes
		}
		write(s.Name)
		params, err := json.Marshal(s.Action)
		if err != nil {
			return ""
		}
		write(string(params))
		if v, ok := s.Action.(actions.Varier); ok {
			name, key := v.Vary(req)
			write(name)
			write(key)
		}
		if f, ok := s.Action.(actions.Fingerprinter); ok {
			write(f.Fingerprint())
		}
	}
	return `"` + hex.EncodeToString(h.Sum(nil)[:20]) + `"`
}

var buildID = sync.OnceValue(func() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	id := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" {
			id += "+" + s.Value
		}
	}
	return id
})
