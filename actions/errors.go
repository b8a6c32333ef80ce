package actions

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is a failure the client should see as an OSS-style error response:
// an HTTP status, a stable code and a message. Actions return it for bad
// request-time parameters (400 InvalidArgument), undecodable images
// (400 InvalidImage), limits (400 ImageTooLarge) and deliberate refusals
// (deny). Any other error from an action is an internal error (500).
type Error struct {
	Status  int
	Code    string
	Message string
	// EC is OSS's fine-grained error code (0040-00000312), sent as <EC>
	// when set: oss_process gives it where OSS documents one.
	EC string
	// Cause is kept for logs; it is never shown to the client.
	Cause error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Cause)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Cause }

// The error codes clients get, actions' and the engine's alike: the one
// list (docs/rules.md's error table shows when each is sent). OSS's own
// codes are spelled as OSS spells them.
const (
	CodeInvalidArgument            = "InvalidArgument"
	CodeInvalidImage               = "InvalidImage"
	CodeImageTooLarge              = "ImageTooLarge"
	CodeUnsupportedContent         = "UnsupportedContent"
	CodeUnsupportedContentEncoding = "UnsupportedContentEncoding"
	CodeEntityTooLarge             = "EntityTooLarge"
	CodeMalformedEvent             = "MalformedEvent"
	CodeRequestTimeout             = "RequestTimeout"
	CodeServiceUnavailable         = "ServiceUnavailable"
	CodeInternalError              = "InternalError"
	CodeAccessDenied               = "AccessDenied"
	CodeNoSuchKey                  = "NoSuchKey"
	CodeInvalidRequest             = "InvalidRequest"
	CodeMethodNotAllowed           = "MethodNotAllowed"
	CodeConflict                   = "Conflict"
	CodeMissingContentLength       = "MissingContentLength"
	CodePreconditionFailed         = "PreconditionFailed"
	CodeInvalidRange               = "InvalidRange"
	CodeInvalidVideo               = "InvalidVideo"
	CodeSnapshotOutOfRange         = "SnapshotOutOfRange"
	// OSS IMG's codes for oss_process ("IMG error codes").
	CodeMissingArgument = "MissingArgument"
	CodeNoSuchStyle     = "NoSuchStyle"
	CodeNotImplemented  = "NotImplemented"
	CodeWatermarkError  = "WatermarkError"
)

// Errorf returns an *Error with the given status and code.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// InvalidArgument is the 400 for a request-time parameter a client got wrong.
func InvalidArgument(format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, CodeInvalidArgument, format, args...)
}

// AsError returns the *Error in err's chain, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
