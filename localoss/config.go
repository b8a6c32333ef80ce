package localoss

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultBucket        = "local"
	DefaultRegion        = "cn-hangzhou"
	DefaultAccessPoint   = "local"
	DefaultInvokeTimeout = 30 * time.Second
	DefaultDigestLimit   = 64 << 20
)

// Config configures a Server.
type Config struct {
	// Dir is the folder that holds the bucket: the object key is the path
	// below it. It is opened with os.OpenRoot, so symlinks cannot lead out of
	// it. Exactly one of Dir and FS must be set.
	Dir string
	// FS is the bucket as a file system, for tests that prefer fstest.MapFS
	// or embed.FS. Files that are *os.File are sent with sendfile.
	FS fs.FS

	// Bucket is the bucket name (default "local"). It is what path-style or
	// virtual-host requests name to reach the origin, and the bucket in the
	// presigned inputOssUrl.
	Bucket string
	// Region is the signing region V4 signatures must use (default
	// "cn-hangzhou").
	Region string

	// AccessKeyID and AccessKeySecret are the credentials the handler signs
	// WriteGetObjectResponse with, the ones inputOssUrl is signed with, and,
	// with RequireClientAuth, the ones clients must sign with. When empty the
	// server runs open: no signature is required or checked anywhere.
	AccessKeyID     string
	AccessKeySecret string
	// SecurityToken, when set, makes the key pair temporary (STS-style):
	// every signed request must carry exactly this token, as the
	// x-oss-security-token header or the presigned URL's token parameter.
	SecurityToken string

	// RequireClientAuth makes GetObject/HeadObject through an access point
	// require a valid V1 or V4 signature (Authorization header or presigned
	// URL). Access points are anonymous by default so that a plain curl
	// works. Needs credentials.
	RequireClientAuth bool

	// DefaultAccessPoint names the access point used when the request does
	// not address an alias (default "local"). Its alias is Server.Alias of it.
	DefaultAccessPoint string
	// Payload is passed as configuration.payload in every event.
	Payload string

	// Invoke runs the function with the JSON event, in process or by posting
	// to a Function Compute emulator. It must behave like a synchronous FC
	// invocation: not return before the function's WriteGetObjectResponse
	// request has been sent. A WGOR arriving after Invoke returned without
	// one is refused. ctx is cancelled when the client gives up before a
	// WGOR arrived, on InvokeTimeout, and on Close. When nil, GetObject
	// through an access point answers 503.
	Invoke func(ctx context.Context, event []byte) error
	// InvokeTimeout bounds the wait from invocation to the arrival of the
	// WGOR (default 30s); the client then gets 504 InvokeTimeout. Once a
	// WGOR has arrived its body streams for as long as it takes.
	InvokeTimeout time.Duration

	// Endpoint is the host:port the function reaches this server at; it
	// becomes outputRoute and the host of inputOssUrl. By default it is the
	// local address of the connection the client request came in on, which
	// is right whenever the function runs on the same machine.
	Endpoint string

	// StandardRange applies to every origin request what OSS applies only
	// with the "x-oss-range-behavior: standard" header: a range ending past
	// the object is truncated and one starting past it is answered 416. By
	// default such ranges are ignored (200, whole object), as OSS does.
	StandardRange bool

	// ForwardedFor appends the client's address (the connection's peer) to
	// the X-Forwarded-For header the function sees, as a proxy or front end
	// does. Whether OSS does so for an Object FC Access Point is not
	// documented; serve turns it on so rules reading ip see what a front
	// end would report (see docs/security.md).
	ForwardedFor bool

	// DigestLimit is the largest object (in bytes) whose ETag is the MD5 of
	// its content, as OSS computes for simple uploads, and that gets
	// Content-MD5 and x-oss-hash-crc64ecma. Digests are computed on first
	// access and cached per (key, size, mtime). Larger objects get a
	// multipart-style ETag derived from key, size and mtime, and no checksum
	// headers, so they stream without a full pre-read. Default 64 MiB;
	// negative means no limit.
	DigestLimit int64

	// OriginFault, when set, is consulted for every origin request (GET or
	// HEAD of the bucket, including inputOssUrl fetches) before anything
	// else; a non-nil Fault replaces or disturbs the normal answer.
	OriginFault func(method, key string) *Fault

	// Now is the server's clock for signature dates and expiry (default
	// time.Now); tests move it to expire presigned URLs.
	Now func() time.Time

	// Logger receives request and protocol logs (default: discarded).
	Logger *slog.Logger
}

// Fault disturbs one origin response; see Config.OriginFault.
type Fault struct {
	// Status, when non-zero, is answered instead of the object, with an OSS
	// XML error (e.g. 403, 429, 500, 503).
	Status int
	// Code and Message fill the error document; Code defaults from Status
	// (AccessDenied, TooManyRequests, InternalError, ...).
	Code    string
	Message string
	// Delay is waited before answering (or dropping); the wait ends early
	// when the client goes away.
	Delay time.Duration
	// Drop closes the connection without any response, as an unreachable or
	// crashing origin would.
	Drop bool
	// CutAfter, when positive, serves the object normally but aborts the
	// connection after that many body bytes.
	CutAfter int64
}

func (c *Config) applyDefaults() error {
	if (c.Dir == "") == (c.FS == nil) {
		return errors.New("localoss: exactly one of Config.Dir and Config.FS must be set")
	}
	if c.Bucket == "" {
		c.Bucket = DefaultBucket
	}
	if c.Region == "" {
		c.Region = DefaultRegion
	}
	if c.DefaultAccessPoint == "" {
		c.DefaultAccessPoint = DefaultAccessPoint
	}
	if c.InvokeTimeout <= 0 {
		c.InvokeTimeout = DefaultInvokeTimeout
	}
	if c.DigestLimit == 0 {
		c.DigestLimit = DefaultDigestLimit
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if !validBucketName(c.Bucket) {
		return fmt.Errorf("localoss: invalid bucket name %q: 3-63 of [a-z0-9-], not starting or ending with '-'", c.Bucket)
	}
	if !validAccessPointName(c.DefaultAccessPoint) {
		return fmt.Errorf("localoss: invalid access point name %q: [a-z0-9-], not starting or ending with '-'", c.DefaultAccessPoint)
	}
	if (c.AccessKeyID == "") != (c.AccessKeySecret == "") {
		return errors.New("localoss: AccessKeyID and AccessKeySecret must be set together")
	}
	if c.AccessKeyID == "" && (c.RequireClientAuth || c.SecurityToken != "") {
		return errors.New("localoss: RequireClientAuth and SecurityToken need AccessKeyID and AccessKeySecret")
	}
	return nil
}

func validBucketName(b string) bool {
	return len(b) >= 3 && len(b) <= 63 && validAccessPointName(b)
}

func validAccessPointName(n string) bool {
	if n == "" || n[0] == '-' || n[len(n)-1] == '-' {
		return false
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
