package localoss

import (
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"strconv"
)

// ossError is an OSS error response. Optional elements are the ones real OSS
// adds for particular codes; SignatureDoesNotMatch carries the string to sign
// because that is what makes a signing bug debuggable.
type ossError struct {
	XMLName           xml.Name `xml:"Error"`
	Status            int      `xml:"-"`
	Code              string   `xml:"Code"`
	Message           string   `xml:"Message"`
	RequestID         string   `xml:"RequestId"`
	HostID            string   `xml:"HostId"`
	Key               string   `xml:"Key,omitempty"`
	Condition         string   `xml:"Condition,omitempty"`
	Method            string   `xml:"Method,omitempty"`
	ResourceType      string   `xml:"ResourceType,omitempty"`
	OSSAccessKeyID    string   `xml:"OSSAccessKeyId,omitempty"`
	SignatureProvided string   `xml:"SignatureProvided,omitempty"`
	StringToSign      string   `xml:"StringToSign,omitempty"`
	CanonicalRequest  string   `xml:"CanonicalRequest,omitempty"`
}

func (e *ossError) Error() string { return e.Code + ": " + e.Message }

func newError(status int, code, msg string) *ossError {
	return &ossError{Status: status, Code: code, Message: msg}
}

func errNoSuchKey(key string) *ossError {
	e := newError(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
	e.Key = key
	return e
}

func errAccessDenied(msg string) *ossError {
	return newError(http.StatusForbidden, "AccessDenied", msg)
}

func errInvalidArgument(msg string) *ossError {
	return newError(http.StatusBadRequest, "InvalidArgument", msg)
}

// writeError sends e as OSS does. HEAD responses cannot carry the XML body,
// so, like OSS, the document travels base64-encoded in x-oss-err, which the
// Go SDK decodes into its ServiceError.
func writeError(w http.ResponseWriter, r *http.Request, requestID string, e *ossError) {
	e.RequestID = requestID
	if e.HostID == "" {
		e.HostID = r.Host
	}
	body, err := xml.Marshal(e)
	if err != nil {
		// Only string fields: marshalling cannot fail.
		panic(err)
	}
	body = append([]byte(xml.Header), body...)
	h := w.Header()
	for _, k := range []string{"Content-Range", "Accept-Ranges", "ETag", "Last-Modified"} {
		if e.Status != http.StatusRequestedRangeNotSatisfiable || k != "Content-Range" {
			h.Del(k)
		}
	}
	h.Set("Content-Type", "application/xml")
	if r.Method == http.MethodHead {
		h.Set("x-oss-err", base64.StdEncoding.EncodeToString(body))
		h.Set("Content-Length", "0")
		w.WriteHeader(e.Status)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}
