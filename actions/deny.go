package actions

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

func init() {
	Register(Definition{
		Name:    "deny",
		Summary: "Refuse the request with an OSS-style XML error; the origin is never read.",
		Doc: "The client gets an OSS XML error and the origin is never read. `code` defaults by " +
			"status (`AccessDenied` for 403, `NoSuchKey` for 404, ...). Rules guard GetObject only: " +
			"HeadObject through an access point alias goes to the standard access point.",
		Class: Terminal,
		New:   func() Action { return &Deny{Status: http.StatusForbidden} },
	})
}

// Deny answers with an error instead of the object.
type Deny struct {
	Status  int    `yaml:"status" enum:"400,401,403,404,405,409,411,412,416" doc:"the 4xx status (default 403)"`
	Code    string `yaml:"code" doc:"OSS-style error code; defaults by status, AccessDenied for 403"`
	Message string `yaml:"message" doc:"the error message; may use ${ }"`
}

// denyStatus gives the OSS error code each 4xx status of
// ForwardedStatuses defaults to.
var denyStatus = map[int]string{
	400: CodeInvalidRequest,
	401: CodeAccessDenied,
	403: CodeAccessDenied,
	404: CodeNoSuchKey,
	405: CodeMethodNotAllowed,
	409: CodeConflict,
	411: CodeMissingContentLength,
	412: CodePreconditionFailed,
	416: CodeInvalidRange,
}

var ossCode = regexp.MustCompile(`^[A-Z][A-Za-z0-9.]{0,63}$`)

// Validate checks the status and code.
func (d *Deny) Validate() error {
	if _, ok := denyStatus[d.Status]; !ok {
		f, _ := ParamsOf(d).Field("status")
		return fmt.Errorf("status: %d is not one of %s", d.Status, strings.Join(f.Enum, ", "))
	}
	if d.Code != "" && !ossCode.MatchString(d.Code) {
		return fmt.Errorf("code: %q is not an OSS-style code such as AccessDenied", d.Code)
	}
	return nil
}

// Apply returns the refusal as an *Error: the engine renders it the same
// way as any other error, XML body included.
func (d *Deny) Apply(context.Context, *Object) error {
	code := d.Code
	if code == "" {
		code = denyStatus[d.Status]
	}
	msg := d.Message
	if msg == "" {
		msg = http.StatusText(d.Status)
	}
	return &Error{Status: d.Status, Code: code, Message: msg}
}

// Interface guards (see docs/adding-an-action.md).
var (
	_ Action    = (*Deny)(nil)
	_ Validator = (*Deny)(nil)
)
