package rules

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// URL signing lets an operator accept only transform parameters the
// application generated, so nobody can ask for a 16000-px render or walk
// through every parameter combination to fill a CDN.
//
// The canonical string is
//
//	KEY + "?" + PAIRS
//
// where KEY is the object key as UTF-8 without a leading slash, and PAIRS
// is every query parameter except sig and OSS's own authentication
// parameters (OSSAccessKeyId, Expires, Signature, and any name starting
// with x-oss-, case-insensitively), each written name=value with name and
// value percent-encoded as RFC 3986 unreserved (A-Z a-z 0-9 - . _ ~ kept,
// every other byte %XX in upper case), sorted by name then value, joined by
// "&". The signature is the HMAC-SHA256 of the canonical string under the
// key, in unpadded base64url, in the parameter sig. An expires parameter
// (unix seconds), when present, is signed like any other and must be in the
// future.

// SigParam and ExpiresParam are the query parameters signing uses.
const (
	SigParam     = "sig"
	ExpiresParam = "expires"
)

// CanonicalString returns what is signed for key and the raw query.
func CanonicalString(key, rawQuery string) string {
	type pair struct{ k, v string }
	var pairs []pair
	for part := range strings.SplitSeq(rawQuery, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		k, ok1 := unescape(k)
		v, ok2 := unescape(v)
		if !ok1 || !ok2 || excludedFromSignature(k) {
			continue
		}
		pairs = append(pairs, pair{k, v})
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	var b strings.Builder
	b.WriteString(strings.TrimPrefix(key, "/"))
	b.WriteByte('?')
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(rfc3986Escape(p.k))
		b.WriteByte('=')
		b.WriteString(rfc3986Escape(p.v))
	}
	return b.String()
}

func excludedFromSignature(name string) bool {
	switch name {
	case SigParam, "OSSAccessKeyId", "Expires", "Signature":
		return true
	}
	return len(name) >= 6 && strings.EqualFold(name[:6], "x-oss-")
}

func rfc3986Escape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// Signature returns the sig value for key and raw query under secret.
func Signature(secret []byte, key, rawQuery string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(CanonicalString(key, rawQuery)))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// VerifySignature reports whether rawQuery carries a valid, unexpired sig
// for key under any of the comma-separated secrets (several allow rotation).
func VerifySignature(secrets, key, rawQuery string, now time.Time) bool {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return false
	}
	sig := q.Get(SigParam)
	if sig == "" {
		return false
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return false
	}
	if exp := q.Get(ExpiresParam); exp != "" {
		t, err := strconv.ParseInt(exp, 10, 64)
		if err != nil || now.Unix() >= t {
			return false
		}
	}
	canonical := []byte(CanonicalString(key, rawQuery))
	ok := false
	for secret := range strings.SplitSeq(secrets, ",") {
		secret = strings.TrimSpace(secret)
		if secret == "" {
			continue
		}
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(canonical)
		// Check every key, so timing does not tell which one matched.
		if hmac.Equal(m.Sum(nil), got) {
			ok = true
		}
	}
	return ok
}

func (e *Env) signed(keyEnv string) bool {
	// Like env(): only OPAPRULES_* variables, whatever name a template
	// computes.
	return VerifySignature(getenv(keyEnv), e.key, e.rawQuery, e.now)
}

// SignPath returns "/KEY?QUERY&expires=...&sig=..." for the first secret in
// secrets. ttl > 0 adds an expires parameter.
func SignPath(secrets, keyAndQuery string, ttl time.Duration, now time.Time) (string, error) {
	secret, _, _ := strings.Cut(secrets, ",")
	secret = strings.TrimSpace(secret)
	if secret == "" {
		return "", fmt.Errorf("no signing key")
	}
	key, rawQuery, _ := strings.Cut(strings.TrimPrefix(keyAndQuery, "/"), "?")
	if _, err := url.ParseQuery(rawQuery); err != nil {
		return "", fmt.Errorf("bad query: %v", err)
	}
	var kept []string
	for part := range strings.SplitSeq(rawQuery, "&") {
		name, _, _ := strings.Cut(part, "=")
		if part == "" || name == SigParam || (ttl > 0 && name == ExpiresParam) {
			continue
		}
		kept = append(kept, part)
	}
	if ttl > 0 {
		kept = append(kept, ExpiresParam+"="+strconv.FormatInt(now.Add(ttl).Unix(), 10))
	}
	rawQuery = strings.Join(kept, "&")
	sig := Signature([]byte(secret), key, rawQuery)
	if rawQuery != "" {
		rawQuery += "&"
	}
	return "/" + (&url.URL{Path: key}).EscapedPath() + "?" + rawQuery + SigParam + "=" + sig, nil
}
