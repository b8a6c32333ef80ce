package actions

import (
	"context"
	"maps"
	"slices"
	"strconv"
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

// The statuses deny and redirect offer are the parts of the one list
// WriteGetObjectResponse accepts; their enum tags (which the schema and the
// reference show) cannot drift from it.
func TestStatusLists(t *testing.T) {
	enum := func(a Action, name string) []int {
		f, ok := ParamsOf(a).Field(name)
		if !ok {
			t.Fatalf("%T has no %s", a, name)
		}
		var out []int
		for _, s := range f.Enum {
			n, err := strconv.Atoi(s)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, n)
		}
		return out
	}
	var fourxx, redirects []int
	for _, s := range ForwardedStatuses {
		switch {
		case s >= 400 && s < 500:
			fourxx = append(fourxx, s)
		case s >= 301 && s <= 303:
			redirects = append(redirects, s)
		}
	}
	if got := enum(&Deny{}, "status"); !slices.Equal(got, fourxx) {
		t.Errorf("deny offers %v, WriteGetObjectResponse's 4xx are %v", got, fourxx)
	}
	if got := slices.Sorted(maps.Keys(denyStatus)); !slices.Equal(got, fourxx) {
		t.Errorf("deny's default codes cover %v, want %v", got, fourxx)
	}
	if got := enum(&Redirect{}, "status"); !slices.Equal(got, redirects) {
		t.Errorf("redirect offers %v, want %v", got, redirects)
	}
}
