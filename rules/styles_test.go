package rules

import (
	"testing"

	"github.com/opaprules/opaprules/actions"
)

// Styles and literal oss_process specs are checked when the rules load,
// and every error points at the faulty character in the file, whatever
// the YAML quoting.
func TestOSSSpecLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		want []diag
	}{
		{"bad value in a style", `version: 1
styles:
  thumb: image/resize,w_0
rules: []
`, []diag{{3, 25, "", "styles.thumb: resize: w: \"0\" is not an integer"}}},
		{"bad operation in a quoted style", `version: 1
styles:
  thumb: "image/resize,w_10/slim,1"
rules: []
`, []diag{{3, 29, "", "styles.thumb: slim: unknown operation"}}},
		{"syntax error in a single-quoted style", `version: 1
styles:
  'a.b': 'image/resize,,w_1'
rules: []
`, []diag{{3, 24, "", "styles.a.b: resize: empty parameter"}}},
		{"bad style name", `version: 1
styles:
  "th umb": image/info
rules: []
`, []diag{{3, 6, "", "style name: ' ' is not allowed"}}},
		{"style naming a style", `version: 1
styles:
  a: style/b
rules: []
`, []diag{{3, 6, "", "a style cannot name another style"}}},
		{"styles not a mapping", `version: 1
styles: [a]
rules: []
`, []diag{{2, 9, "", "styles: want a mapping"}}},
		{"literal spec, flow mapping", `version: 1
rules:
  - name: r
    actions:
      - oss_process: {spec: "image/crop,x_1,g_xx"}
`, []diag{{5, 47, "r", "oss_process.spec: crop: g: \"xx\""}}},
		{"literal spec, block scalar", `version: 1
rules:
  - name: r
    actions:
      - oss_process:
          spec: >-
            image/resize,w_100/rotate,400
`, []diag{{7, 39, "r", "oss_process.spec: rotate: \"400\""}}},
		{"literal spec naming a missing style", `version: 1
styles: {thumb: image/info}
rules:
  - name: r
    actions:
      - oss_process: {spec: style/thumbs}
`, []diag{{6, 35, "r", `the style "thumbs" does not exist`}}},
		{"unknown allow entry", `version: 1
rules:
  - name: r
    actions:
      - oss_process: {spec: "${ query.p }", allow: [resize, slim]}
`, []diag{{5, 9, "r", `"slim" is not one of`}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkDiags(t, tc.src, tc.want, false)
		})
	}
}

// Good styles load and reach oss_process.
func TestStylesLoad(t *testing.T) {
	rs, err := Load("rules.yaml", []byte(`version: 1
styles:
  thumb: image/resize,m_fill,w_64,h_64/format,webp
  big.v2: image/resize,w_1024
rules:
  - name: r
    actions:
      - oss_process: {spec: style/big.v2}
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Styles) != 2 || rs.Styles["thumb"] != "image/resize,m_fill,w_64,h_64/format,webp" {
		t.Fatalf("styles %v", rs.Styles)
	}
	p := rs.Rules[0].Steps[0].Literal().(*actions.OSSProcess)
	if p.Fingerprint() != "image/resize,w_1024" {
		t.Fatalf("the action does not see the styles: %q", p.Fingerprint())
	}
}
