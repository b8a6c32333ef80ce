package pii

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
)

const (
	defPatternMax = 256
	maxPatternMax = 65536
)

// compilePattern compiles p so that it cannot see past a line: that is
// what lets the streaming window cut the text at any newline and still get
// the answer a whole-file match would give.
func compilePattern(p Pattern) (compiledPattern, error) {
	if p.Name == "" {
		return compiledPattern{}, errors.New("name is required")
	}
	for _, c := range []byte(p.Name) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return compiledPattern{}, fmt.Errorf("name %q: only letters, digits, '_' and '-' are allowed", p.Name)
		}
	}
	if p.Regex == "" {
		return compiledPattern{}, errors.New("regex is required")
	}
	ml := p.MaxLength
	if ml == 0 {
		ml = defPatternMax
	}
	if ml < 1 || ml > maxPatternMax {
		return compiledPattern{}, fmt.Errorf("max_length %d is outside 1..%d", p.MaxLength, maxPatternMax)
	}
	// Parse with Go's defaults minus OneLine, so ^ and $ are line anchors.
	tree, err := syntax.Parse(p.Regex, syntax.Perl&^syntax.OneLine)
	if err != nil {
		return compiledPattern{}, fmt.Errorf("regex: %w", err)
	}
	noNewline(tree)
	re, err := regexp.Compile(tree.String())
	if err != nil {
		return compiledPattern{}, fmt.Errorf("regex: %w", err)
	}
	if re.Match(nil) {
		return compiledPattern{}, errors.New("regex matches the empty string")
	}
	cp := compiledPattern{
		name:   p.Name,
		entity: strings.ToUpper(p.Name),
		re:     re,
		maxLen: ml,
	}
	if pre, _ := re.LiteralPrefix(); pre != "" {
		cp.prefix = []byte(pre)
	}
	return cp, nil
}

// noNewline rewrites every construct that could match '\n' so it cannot.
func noNewline(re *syntax.Regexp) {
	switch re.Op {
	case syntax.OpAnyChar:
		re.Op = syntax.OpAnyCharNotNL
	case syntax.OpBeginText:
		// Text edges are line edges once text is matched line by line.
		re.Op = syntax.OpBeginLine
	case syntax.OpEndText:
		re.Op = syntax.OpEndLine
	case syntax.OpCharClass:
		re.Rune = removeNewline(re.Rune)
		if len(re.Rune) == 0 {
			re.Op = syntax.OpNoMatch
		}
	case syntax.OpLiteral:
		for _, c := range re.Rune {
			if c == '\n' {
				re.Op, re.Rune = syntax.OpNoMatch, nil
				break
			}
		}
	}
	for _, s := range re.Sub {
		noNewline(s)
	}
}

// removeNewline cuts '\n' out of a sorted list of rune ranges.
func removeNewline(r []rune) []rune {
	out := make([]rune, 0, len(r)+2)
	for i := 0; i+1 < len(r); i += 2 {
		lo, hi := r[i], r[i+1]
		if lo <= '\n' && '\n' <= hi {
			if lo < '\n' {
				out = append(out, lo, '\n'-1)
			}
			if hi > '\n' {
				out = append(out, '\n'+1, hi)
			}
			continue
		}
		out = append(out, lo, hi)
	}
	return out
}
