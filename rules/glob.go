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
// `[abc]`, `[a-z]` and `[!abc]` a character class, `\` escapes.
//
// A glob is translated to an anchored RE2 regexp, so matching is linear in
// the key's length whatever the pattern: keys come from clients, and a
// backtracking matcher could be made to take exponential time.

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
	b.WriteString(`^`)
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
			i++
			b.WriteString(regexp.QuoteMeta(pattern[i : i+1]))
		case '[':
			end := strings.IndexByte(pattern[i+1:], ']')
			if end < 0 {
				return nil, fmt.Errorf("glob %q has an unclosed [", pattern)
			}
			class := pattern[i+1 : i+1+end]
			if class == "" || class == "!" {
				return nil, fmt.Errorf("glob %q has an empty character class", pattern)
			}
			b.WriteByte('[')
			if class[0] == '!' {
				b.WriteByte('^')
				class = class[1:]
			}
			for j := 0; j < len(class); j++ {
				if class[j] == '\\' || class[j] == '[' || class[j] == ']' || class[j] == '^' {
					b.WriteByte('\\')
				}
				b.WriteByte(class[j])
			}
			b.WriteByte(']')
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
