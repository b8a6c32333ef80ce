// Package schema holds the JSON schemas of opaprules' files, embedded so
// the binary enforces exactly what editors are told.
//
// rules.schema.json is generated from the action registry and the rules
// package's types (`go test ./rules -run TestSchemaUpToDate -update`
// rewrites it); a test fails when the file and the code disagree.
package schema

import _ "embed"

// Rules is the JSON schema (2020-12) of rules.yaml.
//
//go:embed rules.schema.json
var Rules []byte

// Tests is the JSON schema (2020-12) of rules_test.yaml.
//
//go:embed rules_test.schema.json
var Tests []byte

// RulesID and TestsID are the schemas' $id values.
const (
	RulesID = "https://opaprules.dev/schema/rules.schema.json"
	TestsID = "https://opaprules.dev/schema/rules_test.schema.json"
)
