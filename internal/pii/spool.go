package pii

import (
	"context"
	"io"

	"github.com/opaprules/opaprules/internal/spool"
)

// RedactSpooled redacts src as kind into a spool (see package spool:
// memory first, then an unlinked temporary file, within opts' limits and
// budgets) and returns the output with its length: the way to send a
// structured or length-changing redaction with a Content-Length. Close the
// body to give back its file and budgets.
func (r *Redactor) RedactSpooled(ctx context.Context, src io.Reader, kind Kind, opts spool.Options) (*spool.Body, error) {
	w := spool.NewWriter(ctx, opts)
	if _, err := r.Redact(w, src, kind); err != nil {
		w.Discard()
		return nil, err
	}
	return w.Finish()
}
