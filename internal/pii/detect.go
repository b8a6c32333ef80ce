package pii

import (
	"encoding/base64"
	"encoding/json"
	"net/netip"
)

// Byte classes. One table lookup per byte is the whole cost of skipping
// text that can hold nothing.
const (
	cAlnum   = 1 << iota // [0-9A-Za-z]
	cDigit               // [0-9]
	cHex                 // [0-9A-Fa-f]
	cSpecial             // '@', '+', ':' start checks from outside a word
	cLocal               // allowed in an e-mail local part
	cLabel               // [0-9A-Za-z-]
	cB64                 // base64url alphabet
	cIP6                 // [0-9A-Fa-f:.]
)

var class [256]uint8

func init() {
	for c := 0; c < 256; c++ {
		var k uint8
		b := byte(c)
		switch {
		case b >= '0' && b <= '9':
			k |= cAlnum | cDigit | cHex | cLocal | cLabel | cB64 | cIP6
		case b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z':
			k |= cAlnum | cLocal | cLabel | cB64
			if b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F' {
				k |= cHex | cIP6
			}
		}
		switch b {
		case '@', '+', ':':
			k |= cSpecial
		}
		switch b {
		case '.', '_', '%', '+', '-':
			k |= cLocal
		}
		switch b {
		case '-':
			k |= cLabel | cB64
		case '_':
			k |= cB64
		case ':', '.':
			k |= cIP6
		}
		class[c] = k
	}
}

func isAlnum(c byte) bool { return class[c]&cAlnum != 0 }
func isDigit(c byte) bool { return c-'0' < 10 }

// digitRun counts digits from i, stopping early at limit: callers only
// need to tell lengths up to limit apart.
func digitRun(b []byte, i, limit int) int {
	n := 0
	for i+n < len(b) && n < limit && isDigit(b[i+n]) {
		n++
	}
	return n
}

// numLeftOK: a number may start at i unless a letter or digit touches it,
// or it continues a decimal or dotted number ("3.14", "1.2.3.4.5"). A
// value found just before (ending at after) counts as a separator, as its
// mask will: so masking twice changes nothing the first pass left.
func numLeftOK(b []byte, i, after int) bool {
	if i == 0 || i == after {
		return true
	}
	p := b[i-1]
	if isAlnum(p) {
		return false
	}
	return !(p == '.' && i >= 2 && isDigit(b[i-2]))
}

// numRightOK mirrors numLeftOK at the end e of a number.
func numRightOK(b []byte, e int) bool {
	if e >= len(b) {
		return true
	}
	c := b[e]
	if isAlnum(c) {
		return false
	}
	return !(c == '.' && e+1 < len(b) && isDigit(b[e+1]))
}

// ---- email ----

// detectEmail checks the '@' at a. The local part is letters, digits and
// . _ % + - (the atext characters that are not also common delimiters in
// logs and URLs), 1..64 bytes, no leading, trailing or doubled dots: a run
// with ".." is cut after it, so "see..bob@x.com" yields "bob@x.com". It
// may not reach back before floor. The domain is dot-separated labels of
// letters, digits and '-', not starting or ending with '-', 1..63 bytes
// each, at least two, the last alphabetic and 2+ long; trailing labels that
// break the rule are dropped ("a@b.com.123" yields "a@b.com").
func detectEmail(b []byte, a, floor int) (start, end int) {
	j := a
	lim := max(floor, a-maxLocal)
	for j > lim {
		c := b[j-1]
		if class[c]&cLocal == 0 {
			break
		}
		if c == '.' && b[j] == '.' {
			break
		}
		j--
	}
	if j == lim && j > floor && class[b[j-1]]&cLocal != 0 && !(b[j-1] == '.' && b[j] == '.') {
		return -1, -1 // run longer than a local part can be
	}
	for j < a && b[j] == '.' {
		j++
	}
	if j == a || b[a-1] == '.' {
		return -1, -1
	}
	if j > 0 && b[j-1] == '@' {
		return -1, -1
	}
	// Domain: greedy labels.
	k := a + 1
	dend := -1
	for {
		ls := k
		for k < len(b) && class[b[k]]&cLabel != 0 && k-ls <= 63 {
			k++
		}
		if k == ls || b[ls] == '-' {
			break
		}
		if k-ls > 63 {
			return -1, -1
		}
		le := k
		for b[le-1] == '-' {
			le--
		}
		dend = le
		if le != k || k-(a+1) > maxDomain {
			break
		}
		if k+1 < len(b) && b[k] == '.' && class[b[k+1]]&cLabel != 0 {
			k++
			continue
		}
		break
	}
	if dend < 0 {
		return -1, -1
	}
	if dend-(a+1) > maxDomain {
		return -1, -1
	}
	// Drop trailing labels until the last one is an alphabetic TLD.
	for {
		dot := -1
		for x := dend - 1; x > a; x-- {
			if b[x] == '.' {
				dot = x
				break
			}
		}
		if dot < 0 {
			return -1, -1
		}
		if tldOK(b[dot+1 : dend]) {
			break
		}
		dend = dot
	}
	if dend-j > maxEmail {
		return -1, -1
	}
	return j, dend
}

func tldOK(t []byte) bool {
	if len(t) < 2 {
		return false
	}
	for _, c := range t {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// ---- phone ----

// phoneCore matches a mainland mobile number at k: 1[3-9] and nine more
// digits, either contiguous or grouped 3-4-4 by one kind of separator
// (space or '-'). It returns the end or -1.
func phoneCore(b []byte, k int) int {
	if k+1 >= len(b) || b[k] != '1' || b[k+1] < '3' || b[k+1] > '9' {
		return -1
	}
	d := digitRun(b, k, 12)
	if d == 11 {
		return k + 11
	}
	if d != 3 || k+3 >= len(b) {
		return -1
	}
	sep := b[k+3]
	if sep != ' ' && sep != '-' {
		return -1
	}
	p := k + 4
	if digitRun(b, p, 5) != 4 || p+4 >= len(b) || b[p+4] != sep {
		return -1
	}
	p += 5
	if digitRun(b, p, 5) != 4 {
		return -1
	}
	return p + 4
}

// phoneAfterPrefix matches an optional single separator and a core number
// after a country prefix ending at k.
func phoneAfterPrefix(b []byte, k int) int {
	if k < len(b) && (b[k] == ' ' || b[k] == '-') {
		k++
	}
	return phoneCore(b, k)
}

// detectPhone checks a number starting at digit i (no '+'): a core mobile,
// or one behind "86" or "0086".
func detectPhone(b []byte, i, d int) int {
	e := -1
	switch {
	case b[i] == '1':
		e = phoneCore(b, i)
	case d >= 2 && b[i] == '8' && b[i+1] == '6' && (d == 2 || d == 13):
		e = phoneAfterPrefix(b, i+2)
	case d >= 4 && b[i] == '0' && b[i+1] == '0' && b[i+2] == '8' && b[i+3] == '6' && (d == 4 || d == 15):
		e = phoneAfterPrefix(b, i+4)
	}
	if e < 0 || !numRightOK(b, e) {
		return -1
	}
	return e
}

// detectPlusPhone checks a number at the '+' at i: "+86" and a mobile, or
// E.164: '+', a country code not starting with 0, 8..15 digits in all,
// contiguous.
func detectPlusPhone(b []byte, i int) int {
	k := i + 1
	d := digitRun(b, k, 16)
	if d >= 2 && b[k] == '8' && b[k+1] == '6' {
		if e := phoneAfterPrefix(b, k+2); e > 0 && numRightOK(b, e) {
			return e
		}
	}
	if d < 8 || d > 15 || b[k] == '0' {
		return -1
	}
	e := k + d
	if !numRightOK(b, e) {
		return -1
	}
	return e
}

// ---- cn_id ----

var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

const idCheck = "10X98765432"

// detectCNID checks an 18-character resident ID at i: 17 digits then a
// digit or X/x, as a whole alphanumeric word, first digit 1-8 (the region
// codes in use), a real birth date from 1900-01-01 to maxDate, and the ISO
// 7064 MOD 11-2 check character.
func detectCNID(b []byte, i, d, maxDate int) int {
	e := i + 18
	if e > len(b) || b[i] < '1' || b[i] > '8' {
		return -1
	}
	switch {
	case d == 18:
	case d == 17 && (b[i+17] == 'X' || b[i+17] == 'x'):
	default:
		return -1
	}
	if e < len(b) && isAlnum(b[e]) || !numRightOK(b, e) {
		return -1
	}
	y := atoi(b[i+6 : i+10])
	m := atoi(b[i+10 : i+12])
	dd := atoi(b[i+12 : i+14])
	if y < 1900 || m < 1 || m > 12 || dd < 1 || dd > daysIn(y, m) || y*10000+m*100+dd > maxDate {
		return -1
	}
	sum := 0
	for k := 0; k < 17; k++ {
		sum += int(b[i+k]-'0') * idWeights[k]
	}
	want := idCheck[sum%11]
	got := b[i+17]
	if got == 'x' {
		got = 'X'
	}
	if got != want {
		return -1
	}
	return e
}

func atoi(s []byte) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// ---- bank card ----

// detectCard checks a card number at i: 13..19 digits passing Luhn, first
// digit 2-6 (the card networks' ranges; this also keeps epoch-millisecond
// and nanosecond timestamps, which start with 1, out), either contiguous or
// grouped by one kind of separator (space or '-') as a first group of 4
// and further groups of 3..6. If grouping runs on past a valid number, the
// longest valid prefix of whole groups is taken.
func detectCard(b []byte, i, d int) int {
	if b[i] < '2' || b[i] > '6' {
		return -1
	}
	if d >= 13 && d <= 19 {
		if numRightOK(b, i+d) && luhn(b[i:i+d], 0) {
			return i + d
		}
		return -1
	}
	if d != 4 || i+5 >= len(b) {
		return -1
	}
	sep := b[i+4]
	if sep != ' ' && sep != '-' {
		return -1
	}
	var ends [8]int // end offset of each group
	var tot [8]int  // digits up to and including the group
	ends[0], tot[0] = i+4, 4
	g := 1
	p := i + 4
	for g < len(ends) && p+1 < len(b) && b[p] == sep && isDigit(b[p+1]) {
		n := digitRun(b, p+1, 7)
		if n < 3 || n > 6 {
			break
		}
		p += 1 + n
		ends[g], tot[g] = p, tot[g-1]+n
		g++
	}
	for g--; g >= 2; g-- {
		if tot[g] < 13 || tot[g] > 19 {
			continue
		}
		if numRightOK(b, ends[g]) && luhn(b[i:ends[g]], sep) {
			return ends[g]
		}
	}
	return -1
}

// luhn checks the digits of s, skipping sep bytes.
func luhn(s []byte, sep byte) bool {
	sum, dbl := 0, false
	for k := len(s) - 1; k >= 0; k-- {
		c := s[k]
		if c == sep {
			continue
		}
		v := int(c - '0')
		if dbl {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
		dbl = !dbl
	}
	return sum%10 == 0
}

// ---- IPv4 ----

// detectIPv4 checks a dotted quad at i: four decimal octets 0..255 without
// leading zeros, not touching letters or digits, and not part of a longer
// dotted number (so "1.2.3.4.5" and "x.1.2.3.4" from "2.1.2.3.4" are
// not addresses).
func detectIPv4(b []byte, i int) int {
	p := i
	for o := 0; o < 4; o++ {
		if o > 0 {
			if p >= len(b) || b[p] != '.' {
				return -1
			}
			p++
		}
		n := digitRun(b, p, 4)
		if n == 0 || n > 3 || n > 1 && b[p] == '0' {
			return -1
		}
		if atoi(b[p:p+n]) > 255 {
			return -1
		}
		p += n
	}
	if !numRightOK(b, p) {
		return -1
	}
	return p
}

// ---- IPv6 ----

// detectIPv6 checks an address at s, which starts a hex group or "::".
// The text is the run of hex digits, ':' and '.', less one trailing '.'
// or lone ':'; it must not touch a letter or digit, must hold at least two
// colons and two groups (so "::1" and times like 12:30:45 are out; the
// latter is never valid anyway), and net/netip must accept it as IPv6.
func detectIPv6(b []byte, s, after int) int {
	if s > 0 && s != after {
		p := b[s-1]
		if isAlnum(p) || p == ':' || p == '.' {
			return -1
		}
	}
	e := s
	for e < len(b) && class[b[e]]&cIP6 != 0 && e-s <= maxIPv6Text {
		e++
	}
	if e-s > maxIPv6Text {
		return -1
	}
	if e < len(b) && isAlnum(b[e]) {
		return -1
	}
	if e > s && b[e-1] == '.' {
		e--
	}
	if e-s >= 2 && b[e-1] == ':' && b[e-2] != ':' {
		e--
	}
	txt := b[s:e]
	colons, groups, double := 0, 0, false
	ingroup := false
	for k, c := range txt {
		switch c {
		case ':':
			colons++
			if k > 0 && txt[k-1] == ':' {
				double = true
			}
			ingroup = false
		case '.':
			ingroup = false
		default:
			if !ingroup {
				groups++
				ingroup = true
			}
		}
	}
	if colons < 2 || groups < 2 {
		return -1
	}
	// Without "::" only a full address (7 colons, or 6 with an embedded
	// IPv4) can parse; checking first keeps netip off the common
	// clock-time path.
	if !double && colons != 7 && colons != 6 {
		return -1
	}
	ip, err := netip.ParseAddr(string(txt))
	if err != nil || !ip.Is6() {
		return -1
	}
	return e
}

// ---- Aliyun AccessKey ID ----

// detectAK checks "LTAI" and 12..30 letters or digits at i, as a whole
// word (wordEnd is where the alphanumeric run ends).
func detectAK(b []byte, i, wordEnd int) int {
	n := wordEnd - i
	if n < 16 || n > 34 || b[i+1] != 'T' || b[i+2] != 'A' || b[i+3] != 'I' {
		return -1
	}
	return wordEnd
}

// ---- JWT ----

// detectJWT checks a JSON Web Token at i: three non-empty base64url
// segments joined by '.', the first starting "eyJ" and decoding to a JSON
// object, the second valid base64url whose text starts with '{', at most
// jwtMax bytes, not followed by a fourth segment (JWE has five; they are
// not matched).
func detectJWT(b []byte, i, jwtMax int) int {
	if i+3 > len(b) || b[i+1] != 'y' || b[i+2] != 'J' {
		return -1
	}
	lim := min(len(b), i+jwtMax+1)
	var seg [3][2]int
	p := i
	for k := 0; k < 3; k++ {
		st := p
		for p < lim && class[b[p]]&cB64 != 0 {
			p++
		}
		if p == st || p-i > jwtMax {
			return -1
		}
		seg[k] = [2]int{st, p}
		if k < 2 {
			if p == len(b) || b[p] != '.' {
				return -1
			}
			p++
		}
	}
	if p < len(b) && b[p] == '.' && p+1 < len(b) && class[b[p+1]]&cB64 != 0 {
		return -1
	}
	hdr := b[seg[0][0]:seg[0][1]]
	if len(hdr) > 1024 || len(hdr)%4 == 1 {
		return -1
	}
	var tmp [768]byte
	n, err := base64.RawURLEncoding.Decode(tmp[:], hdr)
	if err != nil || !startsObject(tmp[:n]) || !json.Valid(tmp[:n]) {
		return -1
	}
	pl := b[seg[1][0]:seg[1][1]]
	if len(pl)%4 == 1 {
		return -1
	}
	m, err := base64.RawURLEncoding.Decode(tmp[:3], pl[:min(4, len(pl))])
	if err != nil || m == 0 || !startsObject(tmp[:m]) {
		return -1
	}
	return p
}

// startsObject reports whether s, after JSON whitespace, begins with '{'.
func startsObject(s []byte) bool {
	for _, c := range s {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return true
		}
		return false
	}
	return false
}
