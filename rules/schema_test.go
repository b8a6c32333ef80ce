package rules

import (
	"bytes"
	"flag"
	"os"
	"testing"

	"github.com/opaprules/opaprules/actions"
	"github.com/opaprules/opaprules/schema"
)

var update = flag.Bool("update", false, "rewrite schema/rules.schema.json and docs/actions.md from the code")

// The committed schema is what editors and `opaprules schema` show; the
// code is what the loader enforces. They must be the same document.
func TestSchemaUpToDate(t *testing.T) {
	want := SchemaJSON()
	if *update {
		if err := os.WriteFile("../schema/rules.schema.json", want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(schema.Rules, want) {
		t.Fatal("schema/rules.schema.json is out of date with the action registry: run `go test ./rules -run UpToDate -update`")
	}
}

// docs/actions.md is generated from the same registry, so a new action or
// a changed parameter cannot leave the reference behind.
func TestActionsReferenceUpToDate(t *testing.T) {
	want := actions.Reference()
	if *update {
		if err := os.WriteFile("../docs/actions.md", want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile("../docs/actions.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("docs/actions.md is out of date with the action registry: run `go test ./rules -run UpToDate -update`")
	}
}

func TestSchemaCompiles(t *testing.T) {
	if _, err := compileSchema(schema.RulesID, schema.Rules); err != nil {
		t.Fatal(err)
	}
}
