package localoss

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Signing constants of OSS signature version 4.
const (
	v4Algorithm     = "OSS4-HMAC-SHA256"
	v4Product       = "oss"
	v4Terminator    = "aliyun_v4_request"
	v4TimeFormat    = "20060102T150405Z"
	v4DayFormat     = "20060102"
	unsignedPayload = "UNSIGNED-PAYLOAD"

	// maxClockSkew is how far a signed request's date may be from the
	// server clock, as OSS enforces (RequestTimeTooSkewed).
	maxClockSkew = 15 * time.Minute
	// maxPresignV4Expiry is the longest x-oss-expires OSS accepts.
	maxPresignV4Expiry = 7 * 24 * time.Hour
)

// Query parameters of presigned URLs.
const (
	qV4SignatureVersion  = "x-oss-signature-version"
	qV4Credential        = "x-oss-credential"
	qV4Date              = "x-oss-date"
	qV4Expires           = "x-oss-expires"
	qV4Signature         = "x-oss-signature"
	qV4AdditionalHeaders = "x-oss-additional-headers"
	qV4SecurityToken     = "x-oss-security-token"
	qV1AccessKeyID       = "OSSAccessKeyId"
	qV1Expires           = "Expires"
	qV1Signature         = "Signature"
	qV1SecurityToken     = "security-token"
)

// v1SubResources are the query parameters that V1 signatures cover; any other
// parameter is left out of the canonicalized resource. The list follows the
// OSS V1 signing documentation, restricted to what can reach an object GET,
// HEAD or a WGOR. x-oss-write-get-object-response is absent: only a WGOR signs
// it, and v1Resources adds it there.
var v1SubResources = map[string]bool{
	"acl": true, "append": true, "callback": true, "callback-var": true,
	"comp": true, "continuation-token": true, "cors": true, "delete": true,
	"endTime": true, "img": true, "lifecycle": true, "live": true,
	"location": true, "logging": true, "objectMeta": true, "partNumber": true,
	"position": true, "qos": true, "referer": true, "replication": true,
	"response-cache-control": true, "response-content-disposition": true,
	"response-content-encoding": true, "response-content-language": true,
	"response-content-type": true, "response-expires": true, "restore": true,
	"security-token": true, "startTime": true, "status": true, "style": true,
	"styleName": true, "symlink": true, "tagging": true, "uploadId": true,
	"uploads": true, "versionId": true, "versioning": true, "versions": true,
	"website": true, "x-oss-process": true, "x-oss-request-payer": true,
	"x-oss-traffic-limit": true,
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// v4SigningKey derives the per-day, per-region key of OSS V4.
func v4SigningKey(secret, day, region string) []byte {
	k := hmacSHA256([]byte("aliyun_v4"+secret), day)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, v4Product)
	return hmacSHA256(k, v4Terminator)
}

func v4Scope(day, region string) string {
	return day + "/" + region + "/" + v4Product + "/" + v4Terminator
}

// escapeV4 is the URI encoding V4 canonicalization uses: query escaping with
// spaces as %20.
func escapeV4(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// escapeV4Path encodes a canonical URI, keeping slashes literal.
func escapeV4Path(p string) string {
	return strings.ReplaceAll(escapeV4(p), "%2F", "/")
}

// canonicalQueryV4 sorts and encodes every parameter except skip. A parameter
// without a value is written as its bare name.
func canonicalQueryV4(q url.Values, skip string) string {
	type pair struct{ k, v string }
	var pairs []pair
	for k, vs := range q {
		if k == skip {
			continue
		}
		ek := url.QueryEscape(k)
		for _, v := range vs {
			pairs = append(pairs, pair{ek, escapeV4(v)})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		if p.v != "" {
			b.WriteByte('=')
			b.WriteString(p.v)
		}
	}
	return b.String()
}

// headerLine is one lower-cased header of a canonical header block.
type headerLine struct{ name, value string }

func canonicalHeaderBlock(lines []headerLine) string {
	sort.Slice(lines, func(i, j int) bool { return lines[i].name < lines[j].name })
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l.name)
		b.WriteByte(':')
		b.WriteString(l.value)
		b.WriteByte('\n')
	}
	return b.String()
}

// canonicalRequestV4 joins the V4 canonical request. The header block ends
// with its own newline, so a blank line separates it from the additional
// header list.
func canonicalRequestV4(method, uri, query string, headers []headerLine, additional []string, payload string) string {
	return method + "\n" + uri + "\n" + query + "\n" + canonicalHeaderBlock(headers) + "\n" +
		strings.Join(additional, ";") + "\n" + payload
}

func stringToSignV4(signDate, scope, canonicalRequest string) string {
	sum := sha256.Sum256([]byte(canonicalRequest))
	return v4Algorithm + "\n" + signDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
}

func signV4(secret, day, region, stringToSign string) string {
	return hex.EncodeToString(hmacSHA256(v4SigningKey(secret, day, region), stringToSign))
}

// canonicalResourceV1 appends the signed sub-resources of q to resource.
// extra names sub-resources to sign beyond v1SubResources.
func canonicalResourceV1(resource string, q url.Values, extra ...string) string {
	var keys []string
	for k := range q {
		if v1SubResources[k] || containsString(extra, k) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return resource
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(resource)
	for i, k := range keys {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(k)
		if v := q.Get(k); v != "" {
			b.WriteByte('=')
			b.WriteString(v)
		}
	}
	return b.String()
}

func stringToSignV1(method, contentMD5, contentType, date string, ossHeaders []headerLine, resource string) string {
	return method + "\n" + contentMD5 + "\n" + contentType + "\n" + date + "\n" +
		canonicalHeaderBlock(ossHeaders) + resource
}

func signV1(secret, stringToSign string) string {
	h := hmac.New(sha1.New, []byte(secret))
	h.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// presignV4 builds a V4 presigned GET URL for /bucket/key on base
// ("http://host:port"), the way the SDK's SignURL does, with extra query
// parameters (versionId) covered by the signature.
func presignV4(base, bucket, key string, extra url.Values, cred credentials, region string, now time.Time, expires time.Duration) string {
	now = now.UTC()
	day := now.Format(v4DayFormat)
	q := url.Values{}
	for k, vs := range extra {
		q[k] = append([]string(nil), vs...)
	}
	q.Set(qV4SignatureVersion, v4Algorithm)
	q.Set(qV4Credential, cred.id+"/"+v4Scope(day, region))
	q.Set(qV4Date, now.Format(v4TimeFormat))
	q.Set(qV4Expires, strconv.FormatInt(int64(expires/time.Second), 10))
	if cred.token != "" {
		q.Set(qV4SecurityToken, cred.token)
	}
	uri := escapeV4Path("/" + bucket + "/" + key)
	query := canonicalQueryV4(q, "")
	cr := canonicalRequestV4("GET", uri, query, nil, nil, unsignedPayload)
	sig := signV4(cred.secret, day, region, stringToSignV4(now.Format(v4TimeFormat), v4Scope(day, region), cr))
	return base + uri + "?" + query + "&" + qV4Signature + "=" + sig
}
