package actions_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/opaprules/opaprules/actions"
	"github.com/opaprules/opaprules/internal/spool"
)

// Issue #10, finding 11: each length-changing redaction could spool up to
// max_spool_bytes on its own, with nothing bounding the sum (a 4 MB gzip
// log wrote 1 GiB in 1.4 s). Temporary files of all requests share
// spool_budget; a request that would pass it is refused with 503 and a
// message naming the budget, and its share comes back when it closes.
func TestSpoolBudget(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	var log bytes.Buffer
	for i := 0; log.Len() < 3<<20; i++ {
		fmt.Fprintf(&log, "%d user%d@example.com did something\n", i, i)
	}
	// A capacity no other test uses: budgets are process-wide.
	const budget = 5<<20 + 17
	limits := actions.DefaultLimits()
	limits.MaxBufferBytes = 256 << 10
	limits.SpoolBudget = budget
	red := &actions.Redact{Detectors: []string{"email"}, Style: "replace", Replace: "[x]"}
	open := func() (*actions.Object, error) {
		obj := actions.NewObject(&actions.Request{Key: "logs/app.log", Header: http.Header{}}, bytes.NewReader(log.Bytes()),
			int64(log.Len()), http.Header{"Content-Type": {"text/plain"}}, limits)
		if err := red.Apply(context.Background(), obj); err != nil {
			obj.Close()
			return nil, err
		}
		return obj, nil
	}
	first, err := open()
	if err != nil {
		t.Fatal(err)
	}
	second, err := open()
	if err != nil {
		t.Fatal(err)
	}
	disk := spool.BudgetOf(budget)
	if disk.InUse() < 3<<20 || disk.InUse() > budget {
		t.Fatalf("two spools charge %d bytes of a %d budget", disk.InUse(), budget)
	}
	_, err = open()
	e, ok := actions.AsError(err)
	if !ok || e.Status != 503 || e.Code != actions.CodeServiceUnavailable || !strings.Contains(e.Message, "spool_budget") {
		t.Fatalf("third spool: %v, want 503 ServiceUnavailable naming spool_budget", err)
	}
	if disk.InUse() > budget {
		t.Fatalf("budget passed: %d", disk.InUse())
	}
	// The first one's answer is sent and closed: room again.
	r, n, err := first.Result(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(r); int64(len(got)) != n || bytes.Contains(got, []byte("@example.com")) {
		t.Fatalf("first result: %d bytes of %d, or an address left", len(got), n)
	}
	first.Close()
	third, err := open()
	if err != nil {
		t.Fatalf("after a close: %v", err)
	}
	third.Close()
	second.Close()
	if disk.InUse() != 0 {
		t.Errorf("%d bytes still charged", disk.InUse())
	}
}
