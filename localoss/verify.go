package localoss

import (
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// credentials is the one key pair (plus optional STS token) the server knows.
type credentials struct{ id, secret, token string }

// identity describes who signed an authenticated request.
type identity struct {
	AccessKeyID string
	// Scheme is "v1-header", "v1-presign", "v4-header" or "v4-presign".
	Scheme string
	STS    bool
}

// authInput is what signature verification needs beyond the request itself.
type authInput struct {
	// resources are the decoded canonical resources ("/bucket/key", "/") the
	// request may have been signed for, most likely first. More than one
	// exists when the URL does not name the bucket (CNAME-style signing).
	resources []string
	// wgor marks a WriteGetObjectResponse request, whose V1 canonical
	// resource carries its sub-resource; see v1Resources.
	wgor bool
}

// authenticate checks the request's signature. It returns (nil, nil) for a
// request that carries no signature at all; callers decide whether that is
// acceptable.
func (s *Server) authenticate(r *http.Request, q url.Values, in authInput) (*identity, *ossError) {
	auth := r.Header.Get("Authorization")
	switch {
	case strings.HasPrefix(auth, v4Algorithm+" "):
		return s.verifyV4Header(r, q, in, strings.TrimPrefix(auth, v4Algorithm+" "))
	case strings.HasPrefix(auth, "OSS "):
		return s.verifyV1Header(r, q, in, strings.TrimPrefix(auth, "OSS "))
	case auth != "":
		return nil, errInvalidArgument("localoss supports only OSS V1 (\"OSS ak:sig\") and V4 (\"" + v4Algorithm + " ...\") Authorization headers.")
	case q.Has(qV4SignatureVersion):
		if q.Get(qV4SignatureVersion) != v4Algorithm {
			return nil, errInvalidArgument("localoss supports only " + v4Algorithm + " presigned URLs besides V1.")
		}
		return s.verifyV4Presign(r, q, in)
	case q.Has(qV1Signature) || q.Has(qV1AccessKeyID):
		return s.verifyV1Presign(r, q, in)
	}
	return nil, nil
}

func (s *Server) checkAccessKey(id string) *ossError {
	if id == s.cred.id {
		return nil
	}
	e := newError(http.StatusForbidden, "InvalidAccessKeyId", "The OSS Access Key Id you provided does not exist in our records.")
	e.OSSAccessKeyID = id
	return e
}

// checkToken enforces the configured STS token: present and equal when one
// is configured, absent otherwise.
func (s *Server) checkToken(got string) *ossError {
	switch {
	case s.cred.token == "" && got == "":
		return nil
	case s.cred.token == "":
		return newError(http.StatusForbidden, "InvalidSecurityToken", "A security token was sent but the server expects long-term credentials.")
	case got == "":
		return newError(http.StatusForbidden, "InvalidAccessKeyId", "The access key id is temporary (STS) and needs its security token.")
	case subtle.ConstantTimeCompare([]byte(got), []byte(s.cred.token)) != 1:
		return newError(http.StatusForbidden, "InvalidSecurityToken", "The security token you provided is invalid.")
	}
	return nil
}

func (s *Server) checkSkew(t time.Time) *ossError {
	d := s.now().Sub(t)
	if d > maxClockSkew || d < -maxClockSkew {
		return newError(http.StatusForbidden, "RequestTimeTooSkewed",
			"The difference between the request time and the current time is too large.")
	}
	return nil
}

func sigMismatch(id, provided, stringToSign, canonical string) *ossError {
	e := newError(http.StatusForbidden, "SignatureDoesNotMatch",
		"The request signature we calculated does not match the signature you provided. Check your key and signing method.")
	e.OSSAccessKeyID = id
	e.SignatureProvided = provided
	e.StringToSign = stringToSign
	e.CanonicalRequest = canonical
	return e
}

func sigEqual(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// v1OSSHeaders collects the x-oss-* headers V1 signs.
func v1OSSHeaders(r *http.Request) []headerLine {
	var out []headerLine
	for k, vs := range r.Header {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-oss-") && len(vs) > 0 {
			out = append(out, headerLine{lk, vs[0]})
		}
	}
	return out
}

// v1Resources lists the canonicalized resources to try. A WGOR has exactly
// one: "/" with its sub-resource, what every official V1 signer produces;
// see serveWGOR.
func v1Resources(q url.Values, in authInput) []string {
	if in.wgor {
		return []string{canonicalResourceV1("/", q, wgorSubResource)}
	}
	var out []string
	for _, res := range in.resources {
		out = append(out, canonicalResourceV1(res, q))
	}
	return out
}

func (s *Server) verifyV1Header(r *http.Request, q url.Values, in authInput, cred string) (*identity, *ossError) {
	id, sig, ok := strings.Cut(cred, ":")
	if !ok || id == "" || sig == "" {
		return nil, errInvalidArgument("Authorization header is invalid: expected \"OSS AccessKeyId:Signature\".")
	}
	if e := s.checkAccessKey(id); e != nil {
		return nil, e
	}
	token := r.Header.Get("x-oss-security-token")
	if e := s.checkToken(token); e != nil {
		return nil, e
	}
	// Clients that cannot set Date (browsers; the Node SDK ali-oss by
	// default) send x-oss-date, which then fills the date slot of the
	// string to sign, as OSS allows.
	date := r.Header.Get("Date")
	if date == "" {
		date = r.Header.Get("x-oss-date")
	}
	if date == "" {
		return nil, errAccessDenied("The Date header is missing.")
	}
	t, err := http.ParseTime(date)
	if err != nil {
		return nil, errAccessDenied("The Date header is not a valid HTTP date.")
	}
	if e := s.checkSkew(t); e != nil {
		return nil, e
	}
	hdrs := v1OSSHeaders(r)
	var first string
	for _, res := range v1Resources(q, in) {
		sts := stringToSignV1(r.Method, r.Header.Get("Content-MD5"), r.Header.Get("Content-Type"), date, hdrs, res)
		if first == "" {
			first = sts
		}
		if sigEqual(signV1(s.cred.secret, sts), sig) {
			return &identity{AccessKeyID: id, Scheme: "v1-header", STS: token != ""}, nil
		}
	}
	return nil, sigMismatch(id, sig, first, "")
}

func (s *Server) verifyV1Presign(r *http.Request, q url.Values, in authInput) (*identity, *ossError) {
	id, sig, exp := q.Get(qV1AccessKeyID), q.Get(qV1Signature), q.Get(qV1Expires)
	if id == "" || sig == "" || exp == "" {
		return nil, errInvalidArgument("A V1 presigned URL needs OSSAccessKeyId, Expires and Signature.")
	}
	if e := s.checkAccessKey(id); e != nil {
		return nil, e
	}
	token := q.Get(qV1SecurityToken)
	if e := s.checkToken(token); e != nil {
		return nil, e
	}
	expires, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return nil, errInvalidArgument("Expires is not a number of seconds since the epoch.")
	}
	if s.now().Unix() > expires {
		return nil, errAccessDenied("Request has expired.")
	}
	hdrs := v1OSSHeaders(r)
	var first string
	for _, res := range v1Resources(q, in) {
		sts := stringToSignV1(r.Method, r.Header.Get("Content-MD5"), r.Header.Get("Content-Type"), exp, hdrs, res)
		if first == "" {
			first = sts
		}
		if sigEqual(signV1(s.cred.secret, sts), sig) {
			return &identity{AccessKeyID: id, Scheme: "v1-presign", STS: token != ""}, nil
		}
	}
	return nil, sigMismatch(id, sig, first, "")
}

// v4Credential is a parsed "ak/day/region/oss/aliyun_v4_request".
type v4Credential struct{ id, day, region string }

func (s *Server) parseV4Credential(c string) (v4Credential, *ossError) {
	parts := strings.Split(c, "/")
	if len(parts) != 5 || parts[0] == "" {
		return v4Credential{}, errInvalidArgument("Credential must be AccessKeyId/Date/Region/oss/aliyun_v4_request.")
	}
	if parts[3] != v4Product || parts[4] != v4Terminator {
		return v4Credential{}, errInvalidArgument("Credential scope must end with /" + v4Product + "/" + v4Terminator + ".")
	}
	if parts[2] != s.cfg.Region {
		return v4Credential{}, errInvalidArgument("Invalid signing region in credential: got " + parts[2] + ", want " + s.cfg.Region + ".")
	}
	return v4Credential{parts[0], parts[1], parts[2]}, nil
}

// v4Headers collects the headers V4 signs: Content-Type, Content-MD5, every
// x-oss-* header, and the listed additional headers.
func v4Headers(r *http.Request, additional []string) []headerLine {
	var out []headerLine
	seen := map[string]bool{}
	for k, vs := range r.Header {
		lk := strings.ToLower(k)
		if len(vs) == 0 {
			continue
		}
		if lk == "content-type" || lk == "content-md5" || strings.HasPrefix(lk, "x-oss-") || containsString(additional, lk) {
			out = append(out, headerLine{lk, strings.Trim(vs[0], " ")})
			seen[lk] = true
		}
	}
	// Go moves Host out of the header map.
	if containsString(additional, "host") && !seen["host"] {
		out = append(out, headerLine{"host", r.Host})
	}
	return out
}

// parseAdditional lower-cases and sorts an additional-headers list. Content-
// Type and Content-MD5 are always signed, and the SDK leaves them out of the
// list it signs even when a caller names them, so they are dropped here too.
func parseAdditional(list string) []string {
	var out []string
	for _, h := range strings.Split(list, ";") {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" || h == "content-type" || h == "content-md5" || containsString(out, h) {
			continue
		}
		out = append(out, h)
	}
	sort.Strings(out)
	return out
}

func (s *Server) verifyV4Header(r *http.Request, q url.Values, in authInput, rest string) (*identity, *ossError) {
	fields := map[string]string{}
	for _, f := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(f), "=")
		if !ok {
			return nil, errInvalidArgument("Authorization header is malformed: " + f)
		}
		fields[k] = v
	}
	credStr, sig := fields["Credential"], fields["Signature"]
	if credStr == "" || sig == "" {
		return nil, errInvalidArgument("Authorization header needs Credential and Signature.")
	}
	cred, e := s.parseV4Credential(credStr)
	if e != nil {
		return nil, e
	}
	if e := s.checkAccessKey(cred.id); e != nil {
		return nil, e
	}
	token := r.Header.Get("x-oss-security-token")
	if e := s.checkToken(token); e != nil {
		return nil, e
	}
	payload := r.Header.Get("x-oss-content-sha256")
	if payload == "" {
		return nil, errInvalidArgument("x-oss-content-sha256 is required for " + v4Algorithm + ".")
	}
	if payload != unsignedPayload {
		return nil, errInvalidArgument("localoss only accepts x-oss-content-sha256: " + unsignedPayload + ".")
	}
	// The SDK signs with the Date header unless x-oss-date is set, and puts
	// that header's literal value in the string to sign.
	signDate := r.Header.Get("x-oss-date")
	var t time.Time
	var err error
	if signDate != "" {
		t, err = time.Parse(v4TimeFormat, signDate)
	} else if signDate = r.Header.Get("Date"); signDate != "" {
		t, err = http.ParseTime(signDate)
	} else {
		return nil, errAccessDenied("Neither x-oss-date nor Date is present.")
	}
	if err != nil {
		return nil, errAccessDenied("The request date is malformed: " + signDate)
	}
	if e := s.checkSkew(t); e != nil {
		return nil, e
	}
	if t.UTC().Format(v4DayFormat) != cred.day {
		return nil, errInvalidArgument("The credential date " + cred.day + " does not match the request date.")
	}
	additional := parseAdditional(fields["AdditionalHeaders"])
	hdrs := v4Headers(r, additional)
	query := canonicalQueryV4(q, "")
	return s.matchV4(r.Method, cred, sig, signDate, query, hdrs, additional, payload, in, "v4-header", token != "")
}

func (s *Server) verifyV4Presign(r *http.Request, q url.Values, in authInput) (*identity, *ossError) {
	credStr, sig, date, exp := q.Get(qV4Credential), q.Get(qV4Signature), q.Get(qV4Date), q.Get(qV4Expires)
	if credStr == "" || sig == "" || date == "" || exp == "" {
		return nil, errInvalidArgument("A V4 presigned URL needs x-oss-credential, x-oss-date, x-oss-expires and x-oss-signature.")
	}
	cred, e := s.parseV4Credential(credStr)
	if e != nil {
		return nil, e
	}
	if e := s.checkAccessKey(cred.id); e != nil {
		return nil, e
	}
	token := q.Get(qV4SecurityToken)
	if e := s.checkToken(token); e != nil {
		return nil, e
	}
	t, err := time.Parse(v4TimeFormat, date)
	if err != nil {
		return nil, errInvalidArgument("x-oss-date is malformed: " + date)
	}
	if t.Format(v4DayFormat) != cred.day {
		return nil, errInvalidArgument("The credential date " + cred.day + " does not match x-oss-date.")
	}
	secs, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || secs < 0 || time.Duration(secs)*time.Second > maxPresignV4Expiry {
		return nil, errInvalidArgument("x-oss-expires must be between 0 and 604800 seconds.")
	}
	now := s.now()
	if t.Sub(now) > maxClockSkew {
		return nil, newError(http.StatusForbidden, "RequestTimeTooSkewed", "x-oss-date is too far in the future.")
	}
	if now.After(t.Add(time.Duration(secs) * time.Second)) {
		return nil, errAccessDenied("Request has expired.")
	}
	additional := parseAdditional(q.Get(qV4AdditionalHeaders))
	hdrs := v4Headers(r, additional)
	payload := unsignedPayload
	if p := r.Header.Get("x-oss-content-sha256"); p != "" {
		payload = p
	}
	query := canonicalQueryV4(q, qV4Signature)
	return s.matchV4(r.Method, cred, sig, date, query, hdrs, additional, payload, in, "v4-presign", token != "")
}

func (s *Server) matchV4(method string, cred v4Credential, sig, signDate, query string, hdrs []headerLine,
	additional []string, payload string, in authInput, scheme string, withToken bool) (*identity, *ossError) {
	scope := v4Scope(cred.day, cred.region)
	key := v4SigningKey(s.cred.secret, cred.day, cred.region)
	var firstSTS, firstCR string
	for _, res := range in.resources {
		cr := canonicalRequestV4(method, escapeV4Path(res), query, hdrs, additional, payload)
		toSign := stringToSignV4(signDate, scope, cr)
		if firstSTS == "" {
			firstSTS, firstCR = toSign, cr
		}
		if sigEqual(hex.EncodeToString(hmacSHA256(key, toSign)), sig) {
			return &identity{AccessKeyID: cred.id, Scheme: scheme, STS: withToken}, nil
		}
	}
	return nil, sigMismatch(cred.id, sig, firstSTS, firstCR)
}
