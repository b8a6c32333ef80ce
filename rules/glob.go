package rules

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"
)

// Globs: `*` matches within one path segment, `**` across segments (and
// `**/` also matches no directory at all), `?` one character of a segment,
// `[abc]`, `[a-z]` and `[!abc]` one character of a segment from a class
// (it ends at the first `]`; `!` first negates; every other character in it
// is literal), `\` escapes the next character.
//
// A glob is translated to an anchored RE2 regexp, so matching is linear in
// the key's length whatever the pattern: keys come from clients, and a
// backtracking matcher could be made to take exponential time.
//
// Every wildcard matches every character but `/`, newline and carriage
// return included: an OSS key may hold any UTF-8 character, and a
// `glob("secret/**")` deny that let `secret/a%0Ab.txt` through would be a
// bypass (issue #10). The regexp is compiled with the s flag for that.

var globCache sync.Map // pattern -> *regexp.Regexp

// globCacheMax bounds the cache when patterns come from requests.
const globCacheMax = 1024

var globCacheN int64
var globCacheMu sync.Mutex

func globMatch(pattern, key string) (bool, error) {
	if re, ok := globCache.Load(pattern); ok {
		return re.(*regexp.Regexp).MatchString(key), nil
	}
	re, err := compileGlob(pattern)
	if err != nil {
		return false, err
	}
	globCacheMu.Lock()
	if globCacheN < globCacheMax {
		globCache.Store(pattern, re)
		globCacheN++
	}
	globCacheMu.Unlock()
	return re.MatchString(key), nil
}

func compileGlob(pattern string) (*regexp.Regexp, error) {
	var b strings.Builder
	// s: `.` matches \n too. Negated classes ([^/]) already do in RE2.
	b.WriteString(`(?s)^`)
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch c {
		case '*':
			if i+1 < len(pattern) && pattern[i+1] == '*' {
				i++
				if i+1 < len(pattern) && pattern[i+1] == '/' {
					i++
					b.WriteString(`(?:.*/)?`)
				} else {
					b.WriteString(`.*`)
				}
			} else {
				b.WriteString(`[^/]*`)
			}
		case '?':
			b.WriteString(`[^/]`)
		case '\\':
			if i+1 == len(pattern) {
				return nil, fmt.Errorf("glob %q ends with a lone backslash", pattern)
			}
			// The whole escaped character, not its first byte.
			_, size := utf8.DecodeRuneInString(pattern[i+1:])
			b.WriteString(regexp.QuoteMeta(pattern[i+1 : i+1+size]))
			i += size
		case '[':
			end := strings.IndexByte(pattern[i+1:], ']')
			if end < 0 {
				return nil, fmt.Errorf("glob %q has an unclosed [", pattern)
			}
			class := pattern[i+1 : i+1+end]
			if class == "" || class == "!" {
				return nil, fmt.Errorf("glob %q has an empty character class", pattern)
			}
			// A class is one character of a segment, like ?: a negated
			// class never matches /, and one that could is refused.
			var cb strings.Builder
			cb.WriteByte('[')
			negated := class[0] == '!'
			if negated {
				cb.WriteString(`^/`)
				class = class[1:]
				// A leading - is literal; after the / it would make a range.
				if strings.HasPrefix(class, "-") {
					cb.WriteString(`\-`)
					class = class[1:]
				}
			}
			for j := 0; j < len(class); j++ {
				if class[j] == '\\' || class[j] == '[' || class[j] == ']' || class[j] == '^' {
					cb.WriteByte('\\')
				}
				cb.WriteByte(class[j])
			}
			cb.WriteByte(']')
			if !negated {
				re, err := regexp.Compile(cb.String())
				if err != nil {
					return nil, fmt.Errorf("glob %q: %v", pattern, err)
				}
				if re.MatchString("/") {
					return nil, fmt.Errorf("glob %q: a character class cannot match /: it matches within one segment", pattern)
				}
			}
			b.WriteString(cb.String())
			i += end + 1
		default:
			_, size := utf8.DecodeRuneInString(pattern[i:])
			b.WriteString(regexp.QuoteMeta(pattern[i : i+size]))
			i += size - 1
		}
	}
	b.WriteString(`$`)
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, fmt.Errorf("glob %q: %v", pattern, err)
	}
	return re, nil
}
