package engine

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"slices"

	"github.com/opaprules/opaprules/actions"
)

// errorBody is OSS's error document. EC and RecommendDoc, OSS's
// fine-grained code and the troubleshooting page it links to ("Error
// responses", https://www.alibabacloud.com/help/en/oss/user-guide/overview-14),
// are sent when an action knows OSS's code for the case (oss_process).
type errorBody struct {
	XMLName      xml.Name `xml:"Error"`
	Code         string   `xml:"Code"`
	Message      string   `xml:"Message"`
	RequestID    string   `xml:"RequestId"`
	EC           string   `xml:"EC,omitempty"`
	RecommendDoc string   `xml:"RecommendDoc,omitempty"`
}

func renderError(e *actions.Error, requestID string) []byte {
	body := errorBody{Code: e.Code, Message: e.Message, RequestID: requestID, EC: e.EC}
	if e.EC != "" {
		body.RecommendDoc = "https://api.aliyun.com/troubleshoot?q=" + e.EC
	}
	b, err := xml.MarshalIndent(body, "", "  ")
	if err != nil {
		b = []byte("<Error><Code>InternalError</Code></Error>")
	}
	// encoding/xml escapes quotes in text as &#34; and &#39;; OSS writes
	// them plainly, which is as valid in element content and reads as the
	// message was written.
	b = bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("&#34;"), []byte(`"`)), []byte("&#39;"), []byte("'"))
	return append([]byte(xml.Header), b...)
}

// clientError turns any error of a request into what the client sees. An
// *actions.Error keeps its status (moved into the allowed set) and code;
// anything else is a 500 whose detail stays in the log.
func clientError(err error) *actions.Error {
	if e, ok := actions.AsError(err); ok {
		if !slices.Contains(actions.ForwardedStatuses, e.Status) {
			c := *e
			if e.Status >= 500 {
				c.Status = http.StatusServiceUnavailable
			} else {
				c.Status = http.StatusBadRequest
			}
			return &c
		}
		return e
	}
	return &actions.Error{Status: 500, Code: actions.CodeInternalError, Message: "the handler failed; the request id leads to the log", Cause: err}
}

// originError maps an origin failure to what the client gets: a missing
// object stays a 404, a refused read a 403, other client errors pass when
// WriteGetObjectResponse can carry them, and an origin that is down,
// throttled or unreachable is a 503 the client may retry.
func originError(status int, code, message string) *actions.Error {
	switch {
	case status == http.StatusNotFound:
		if code == "" {
			code = actions.CodeNoSuchKey
		}
		return &actions.Error{Status: 404, Code: code, Message: orDefault(message, "The specified key does not exist.")}
	case status == http.StatusForbidden:
		return &actions.Error{Status: 403, Code: actions.CodeAccessDenied, Message: orDefault(message, "the origin refused to read the object")}
	case status == http.StatusTooManyRequests || status >= 500:
		return &actions.Error{Status: 503, Code: actions.CodeServiceUnavailable, Message: fmt.Sprintf("the origin answered %d; retry later", status)}
	case status >= 400 && slices.Contains(actions.ForwardedStatuses, status):
		return &actions.Error{Status: status, Code: orDefault(code, http.StatusText(status)), Message: orDefault(message, "the origin refused the request")}
	case status >= 400:
		return &actions.Error{Status: 400, Code: orDefault(code, actions.CodeInvalidRequest), Message: fmt.Sprintf("the origin answered %d: %s", status, message)}
	}
	return &actions.Error{Status: 503, Code: actions.CodeServiceUnavailable, Message: fmt.Sprintf("unexpected origin status %d", status)}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
