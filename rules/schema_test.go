package rules

import (
	"bytes"
	"flag"
	"os"
	"testing"

	"github.com/opaprules/opaprules/schema"
)

var update = flag.Bool("update", false, "rewrite schema/rules.schema.json from the code")

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
		t.Fatal("schema/rules.schema.json is out of date with the action registry: run `go test ./rules -run TestSchemaUpToDate -update`")
	}
}

func TestSchemaCompiles(t *testing.T) {
	if _, err := compileSchema(schema.RulesID, schema.Rules); err != nil {
		t.Fatal(err)
	}
}
