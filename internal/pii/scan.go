package pii

// match is a found value: bytes [s, e) of the window, found by detector
// det (built-in id, or numBuiltin+pattern index).
type match struct {
	s, e, det int
}

// scanState carries the built-in scan from one window to the next.
type scanState struct {
	pos     int // next byte to look at
	lastEnd int // end of the last built-in match; nothing may start before it
}

const digitDets = 1<<detPhone | 1<<detCNID | 1<<detCard | 1<<detIPv4

// scanBuiltin runs every enabled built-in detector over b, starting checks
// at positions in [st.pos, stop), and appends what it finds to out.
//
// It walks the text word by word (a word is a run of ASCII letters and
// digits): every built-in value except an e-mail's local part and "::"
// starts a word, so a check runs once per word, on its first byte, and the
// rest of the word costs one table lookup per byte. '@', '+' and ':'
// outside words start the e-mail, E.164 and "::" checks.
//
// A check starting at i reads at most r.lookahead bytes past i, and at
// most maxLocal+1 before it, so the caller can slide a window over a
// stream and get the answer it would get from the whole text.
func (r *Redactor) scanBuiltin(b []byte, st *scanState, stop int, out []match) []match {
	i := st.pos
	if i > 0 && i < len(b) && isAlnum(b[i-1]) {
		// Resuming inside a word: nothing starts mid-word.
		for i < len(b) && isAlnum(b[i]) {
			i++
		}
	}
	stop = min(stop, len(b))
	head := b[:stop]
	for i < len(head) {
		k := class[head[i]]
		if k&(cAlnum|cSpecial) == 0 {
			i++
			continue
		}
		if k&cSpecial != 0 {
			i = r.special(b, i, st, &out)
			continue
		}
		ws := i
		we := i + 1
		for _, c := range b[we:] {
			if class[c]&cAlnum == 0 {
				break
			}
			we++
		}
		c := b[ws]
		e, det := -1, 0
		switch {
		case k&cDigit != 0:
			if r.enabled&digitDets != 0 && numLeftOK(b, ws, st.lastEnd) {
				e, det = r.digitWord(b, ws)
			}
		case c == 'L':
			if r.on(detAK) {
				e, det = detectAK(b, ws, we), detAK
			}
		case c == 'e':
			if r.on(detJWT) {
				e, det = detectJWT(b, ws, r.jwtMax), detJWT
			}
		}
		if e < 0 && we-ws <= 4 && we < len(b) && b[we] == ':' && r.on(detIPv6) && ipv6Left(b, ws, st.lastEnd) && allHex(b[ws:we]) {
			e, det = detectIPv6(b, ws, st.lastEnd), detIPv6
		}
		if e < 0 {
			i = we
			continue
		}
		i = r.emit(b, st, ws, e, det, &out)
	}
	st.pos = i
	return out
}

// special handles '@', '+' and ':' at i and returns where to go on.
func (r *Redactor) special(b []byte, i int, st *scanState, out *[]match) int {
	switch b[i] {
	case '@':
		if r.on(detEmail) {
			if s, e := detectEmail(b, i, st.lastEnd); s >= 0 {
				*out = append(*out, match{s, e, detEmail})
				st.lastEnd = e
				return e
			}
		}
	case '+':
		if r.on(detPhone) && i+1 < len(b) && isDigit(b[i+1]) && (i == 0 || i == st.lastEnd || !isAlnum(b[i-1])) {
			if e := detectPlusPhone(b, i); e > 0 {
				return r.emit(b, st, i, e, detPhone, out)
			}
		}
	case ':':
		if r.on(detIPv6) && i+1 < len(b) && b[i+1] == ':' {
			if e := detectIPv6(b, i, st.lastEnd); e > 0 {
				return r.emit(b, st, i, e, detIPv6, out)
			}
		}
	}
	return i + 1
}

// digitWord tries the detectors that start with a digit, most specific
// first, so a value that fits two (an 18-digit ID that also passes Luhn)
// is named by the stricter one.
func (r *Redactor) digitWord(b []byte, i int) (int, int) {
	d := digitRun(b, i, 20)
	switch {
	case d <= 4:
		// Only a grouped or prefixed phone, a grouped card or an IPv4
		// address starts with so few digits, and each needs one of these
		// next. Logs are full of short numbers: keep this path short.
		if i+d >= len(b) {
			return -1, 0
		}
		switch b[i+d] {
		case ' ', '-':
			if r.on(detPhone) && d != 1 {
				if e := detectPhone(b, i, d); e > 0 {
					return e, detPhone
				}
			}
			if r.on(detCard) && d == 4 {
				if e := detectCard(b, i, d); e > 0 {
					return e, detCard
				}
			}
		case '.':
			if r.on(detIPv4) && d <= 3 {
				if e := detectIPv4(b, i); e > 0 {
					return e, detIPv4
				}
			}
		}
		return -1, 0
	case d < 11 || d == 12 || d > 19:
		return -1, 0
	}
	if r.on(detCNID) && (d == 17 || d == 18) {
		if e := detectCNID(b, i, d, r.maxDate); e > 0 {
			return e, detCNID
		}
	}
	if r.on(detPhone) && (d == 11 || d == 13 || d == 15) {
		if e := detectPhone(b, i, d); e > 0 {
			return e, detPhone
		}
	}
	if r.on(detCard) && d >= 13 {
		if e := detectCard(b, i, d); e > 0 {
			return e, detCard
		}
	}
	return -1, 0
}

// ipv6Left tells whether an address may start at s (see detectIPv6).
func ipv6Left(b []byte, s, after int) bool {
	if s == 0 || s == after {
		return true
	}
	p := b[s-1]
	return !isAlnum(p) && p != ':' && p != '.'
}

func allHex(s []byte) bool {
	for _, c := range s {
		if class[c]&cHex == 0 {
			return false
		}
	}
	return true
}

// emit records a match found at [s, e), unless it is the local part of an
// e-mail address written right after it ("13812345678@qq.com",
// "LTAI...x.y@corp.com"): then the whole address is recorded instead, so
// the address is named and redacted as one value.
func (r *Redactor) emit(b []byte, st *scanState, s, e, det int, out *[]match) int {
	if r.on(detEmail) {
		for a := e; a < len(b) && a-e <= maxLocal; a++ {
			c := b[a]
			if c == '@' {
				if es, ee := detectEmail(b, a, st.lastEnd); es >= 0 && es <= s {
					s, e, det = es, ee, detEmail
				}
				break
			}
			if class[c]&cLocal == 0 {
				break
			}
		}
	}
	*out = append(*out, match{s, e, det})
	st.lastEnd = e
	return e
}
