package playground

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/opaprules/opaprules/engine"
	"github.com/opaprules/opaprules/rules"
	"github.com/opaprules/opaprules/ruletest"
)

// testedHeaders are the response headers a copied test case expects:
// those the rules decide. ETag (it names the build), Last-Modified and
// Expires (they name a time), Accept-Ranges and Content-Range are left out.
var testedHeaders = []string{"Content-Type", "Cache-Control", "Content-Disposition", "Content-Encoding", "Content-Language", "Location"}

// The shape of one entry of rules_test.yaml's tests (ruletest.Case), with
// empty fields left out so the entry reads like a hand-written one.
type caseYAML struct {
	Name    string      `yaml:"name"`
	Request requestYAML `yaml:"request"`
	Expect  expectYAML  `yaml:"expect"`
}

type requestYAML struct {
	Key         string            `yaml:"key"`
	Method      string            `yaml:"method,omitempty"`
	Headers     map[string]string `yaml:"headers,omitempty"`
	AccessPoint string            `yaml:"access_point,omitempty"`
	Object      *objectYAML       `yaml:"object,omitempty"`
}

type objectYAML struct {
	Size         int64  `yaml:"size,omitempty"`
	ContentType  string `yaml:"content_type,omitempty"`
	ETag         string `yaml:"etag,omitempty"`
	LastModified string `yaml:"last_modified,omitempty"`
}

type expectYAML struct {
	Rules     []string          `yaml:"rules,flow"`
	Actions   []string          `yaml:"actions,flow"`
	Status    int               `yaml:"status"`
	Headers   map[string]string `yaml:"headers,omitempty"`
	ErrorCode string            `yaml:"error_code,omitempty"`
}

// testCase writes the rules_test.yaml entry for the request the form
// describes and what came of it. `opaprules test` runs without originals:
// the entry gives the original's metadata, and expects what the rules make
// of the request without its bytes (the same engine entry, predicting).
// Where that differs from the run with the original, a comment says so.
func testCase(ctx context.Context, h *engine.Handler, rs *rules.RuleSet, form ruletest.Request, orig *bodyOut, ran *engine.LocalResult) (string, error) {
	c := caseYAML{Name: caseName(form)}
	c.Request = requestYAML{Key: form.Key, Headers: form.Headers, AccessPoint: form.AccessPoint}
	if m := strings.ToUpper(form.Method); m != "" && m != http.MethodGet {
		c.Request.Method = m
	}
	if orig != nil {
		form.Object = &ruletest.Object{Size: orig.Bytes, ContentType: orig.ContentType}
		c.Request.Object = &objectYAML{Size: orig.Bytes, ContentType: orig.ContentType}
		req, err := form.Build()
		if err != nil {
			return "", err
		}
		// Rules that read object.* see what the run saw.
		if readsObject, _ := rs.Reads(req.AccessPoint, req.AccessPointAlias); readsObject {
			if etag := ran.Header.Get("ETag"); etag != "" && ran.Plan != nil && !ran.Plan.Transforms() {
				form.Object.ETag, c.Request.Object.ETag = etag, etag
			}
			if lm := ran.Header.Get("Last-Modified"); lm != "" {
				form.Object.LastModified, c.Request.Object.LastModified = lm, lm
			}
		}
	}
	req, err := form.Build()
	if err != nil {
		return "", err
	}
	want, err := h.RunLocal(ctx, engine.LocalRun{Request: req})
	if err != nil {
		return "", err
	}
	c.Expect = expectYAML{Rules: []string{}, Actions: []string{}, Status: want.Status, Headers: map[string]string{}}
	if want.Trace != nil {
		for _, t := range want.Trace.Rules {
			if t.Matched {
				c.Expect.Rules = append(c.Expect.Rules, t.Name)
			}
		}
	}
	if want.Plan != nil {
		for _, s := range want.Plan.Steps {
			c.Expect.Actions = append(c.Expect.Actions, s.Name)
		}
	}
	if want.Error != nil {
		c.Expect.ErrorCode = want.Error.Code
	}
	var differs []string
	for _, name := range testedHeaders {
		v := want.Header.Get(name)
		switch got := ran.Header.Get(name); {
		case v != "" && v == got:
			c.Expect.Headers[name] = v
		case v != got:
			differs = append(differs, name)
		}
	}

	var doc yaml.Node
	if err := doc.Encode([]caseYAML{c}); err != nil {
		return "", err
	}
	var notes []string
	if want.Status != ran.Status {
		note := fmt.Sprintf("the run with the original answered %d", ran.Status)
		if ran.Error != nil {
			note += " " + ran.Error.Code
		}
		notes = append(notes, note+"; opaprules test runs without originals")
	}
	if len(differs) > 0 {
		notes = append(notes, "left out, they need the original's bytes: "+strings.Join(differs, ", "))
	}
	if len(notes) > 0 {
		setComment(mappingValue(doc.Content[0], "expect"), "status", strings.Join(notes, "; "))
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// caseName says what the request is: its key, and the headers it sends.
func caseName(r ruletest.Request) string {
	name := r.Key
	if m := strings.ToUpper(r.Method); m != "" && m != http.MethodGet {
		name = m + " " + name
	}
	if len(r.Headers) > 0 {
		name += " with " + strings.Join(slices.Sorted(maps.Keys(r.Headers)), ", ")
	}
	if r.AccessPoint != "" {
		name += " via " + r.AccessPoint
	}
	return name
}

func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind == yaml.SequenceNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func setComment(m *yaml.Node, key, text string) {
	for i := 0; m != nil && i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1].LineComment = "# " + text
		}
	}
}
