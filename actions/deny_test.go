package actions

import (
	"context"
	"testing"
)

func TestDeny(t *testing.T) {
	for _, tc := range []struct {
		d             Deny
		status        int
		code, message string
		invalid       bool
	}{
		{d: Deny{Status: 403}, status: 403, code: "AccessDenied", message: "Forbidden"},
		{d: Deny{Status: 404, Message: "gone"}, status: 404, code: "NoSuchKey", message: "gone"},
		{d: Deny{Status: 401, Code: "NeedSignature", Message: "sign it"}, status: 401, code: "NeedSignature", message: "sign it"},
		{d: Deny{Status: 500}, invalid: true},
		{d: Deny{Status: 200}, invalid: true},
		{d: Deny{Status: 403, Code: "bad code"}, invalid: true},
	} {
		if err := tc.d.Validate(); (err != nil) != tc.invalid {
			t.Errorf("%+v: Validate() = %v, invalid want %v", tc.d, err, tc.invalid)
			continue
		}
		if tc.invalid {
			continue
		}
		err := tc.d.Apply(context.Background(), NewObject(nil, nil, 0, nil, DefaultLimits()))
		e, ok := AsError(err)
		if !ok {
			t.Fatalf("%+v: Apply returned %v, want *Error", tc.d, err)
		}
		if e.Status != tc.status || e.Code != tc.code || e.Message != tc.message {
			t.Errorf("%+v: got %d %s %q, want %d %s %q", tc.d, e.Status, e.Code, e.Message, tc.status, tc.code, tc.message)
		}
	}
}
