// Package localoss is a local stand-in for Alibaba Cloud OSS playing an
// Object FC Access Point (OPAP) in front of one bucket whose objects are
// files in a folder.
//
// It speaks only the wire protocol, so a GetObject handler can be exercised
// exactly the way real OSS would drive it: the handler receives a JSON event,
// reads the original object through the presigned inputOssUrl, and answers
// with a signed WriteGetObjectResponse (WGOR) request that this server relays
// to the waiting client. The handler is modelled by [Config.Invoke].
//
// # Roles and addressing
//
// One [Server] (an [http.Handler]) plays every role; requests are routed by
// what they address:
//
//   - POST /?x-oss-write-get-object-response (any host, any path): the WGOR
//     API. The request must carry a valid signature when credentials are
//     configured, made the way Alibaba's own signers make it: V1 over the
//     canonical resource "/?x-oss-write-get-object-response", V4 over the
//     canonical URI "/" (anything else, such as the Go v1 SDK's V1
//     signature without the sub-resource or a signature over "/<bucket>/",
//     is refused with SignatureDoesNotMatch); an unused
//     x-oss-request-token issued by this server, the
//     matching x-oss-request-route, an allowed x-oss-fwd-status and a
//     Content-Length.
//   - The bucket itself, addressed virtual-host style ("<bucket>.<anything>")
//     or path style ("/<bucket>/<key>"): plain GetObject/HeadObject of the
//     folder ("the origin"). This is what inputOssUrl points at. When
//     credentials are configured the bucket is private: requests must be
//     signed (V1 or V4, header or presigned URL).
//   - An access point alias ("<name>-<hash>-opapalias"), addressed virtual-host
//     style ("<alias>.<anything>") or path style ("/<alias>/<key>"), or no
//     bucket at all ("localhost:8080/photo.jpg", the default access point):
//     the OPAP. GET invokes the function; HEAD is answered by the origin, as a
//     real OPAP hands everything but GetObject to its supporting access point;
//     other methods get 405 MethodNotAllowed. Signatures are checked only
//     with [Config.RequireClientAuth].
//
// A key whose first path segment equals the bucket name is therefore read as
// path-style bucket addressing, not as a key under the default access point.
//
// # The event
//
// For each GetObject through an access point the server builds
//
//	{"getObjectContext":{"inputOssUrl":"http://127.0.0.1:8080/local/photos/a.jpg?x-oss-credential=...",
//	                     "outputRoute":"127.0.0.1:8080","outputToken":"OSSV1#..."},
//	 "configuration":{"accessPointName":"media","accessPointAlias":"media-...-opapalias","payload":""},
//	 "userRequest":{"url":"http://media-...-opapalias.127.0.0.1:8080/photos/a.jpg?w=200",
//	                "headers":{"Accept":"image/webp","Host":"...","Range":"bytes=0-9"}},
//	 "userIdentity":{"type":"AccessKey","accessKeyId":"..."},
//	 "xOssRequestId":"...","protocolVersion":"1.00"}
//
// outputRoute is a host:port that reaches this server, so a handler can use
// it directly as the SDK endpoint ("http://"+outputRoute). inputOssUrl is a V4
// presigned URL (an unsigned one when no credentials are configured) for the
// origin role, carrying the client's versionId. userRequest.url is the URL the
// client used, rewritten to virtual-host form when the client addressed the
// alias path style; userIdentity is present only for signed client requests;
// authorization headers are left out of userRequest.headers.
//
// # Origin semantics
//
// GetObject/HeadObject follow OSS: a quoted upper-case hex MD5 ETag, Content-MD5
// and x-oss-hash-crc64ecma (see Config.DigestLimit for large objects),
// Last-Modified, Content-Type by extension, Accept-Ranges, one byte range (206
// with Content-Range); malformed, inverted and multiple ranges are ignored (200).
// Ranges that do not fit the object are ignored too, as OSS does by default;
// with "x-oss-range-behavior: standard" (or Config.StandardRange) they are
// truncated or answered 416 with "Content-Range: bytes */size".
// If-Match/If-Unmodified-Since (412) and If-None-Match/If-Modified-Since (304)
// are evaluated in RFC 9110 order, and If-Range is honoured. versionId "null"
// is the only version. Keys with "." or ".." segments are refused (400
// InvalidObjectName); symlinks leading out of Config.Dir are refused (403).
// An optional "<key>.ossmeta.json" sidecar sets Content-Encoding, Cache-Control,
// x-oss-meta-* and similar headers. Config.OriginFault injects failures.
//
// # Failures seen by the client
//
// When the function does not answer, the client gets an OSS XML error with the
// request id of the event: 500 FunctionInvocationFailed (Invoke returned an
// error or panicked), 500 NoWriteGetObjectResponse (Invoke returned nil without
// a WGOR), 504 InvokeTimeout (no WGOR within Config.InvokeTimeout). These codes
// are localoss's own; the real service's are not documented.
//
// # Notes for handler authors
//
// The SDK (v3.0.2) sends a POST body with Content-Length only when it can
// tell the size: pass a *bytes.Reader, *strings.Reader, *io.LimitedReader or a
// file, and nil (not an empty reader) for an empty body; anything else goes
// out chunked and is refused with 411 MissingContentLength. Both OSS
// signature versions sign every x-oss-* request header, and this server
// computes presigned signatures over the headers actually sent, so fetching
// inputOssUrl with an added x-oss-* header (x-oss-range-behavior included)
// fails with SignatureDoesNotMatch.
//
// # Streaming
//
// The WGOR body is copied to the client's connection while the WGOR request
// is still in flight, with a fixed-size buffer, and the WGOR is answered
// (200, or an error if the client went away) only once the copy is done. A
// WGOR body that ends early aborts the client connection, so the client sees
// a truncated response rather than a short one that looks complete. An http.Server
// hosting the handler should not set WriteTimeout, which would cut long
// streams.
package localoss
