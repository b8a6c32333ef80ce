package ruletest

import (
	"bytes"
	"flag"
	"os"
	"testing"

	"github.com/opaprules/opaprules/schema"
)

var update = flag.Bool("update", false, "rewrite schema/rules_test.schema.json from the code")

func TestSchemaUpToDate(t *testing.T) {
	want := SchemaJSON()
	if *update {
		if err := os.WriteFile("../schema/rules_test.schema.json", want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(schema.Tests, want) {
		t.Fatal("schema/rules_test.schema.json is out of date: run `go test ./ruletest -run TestSchemaUpToDate -update`")
	}
}
