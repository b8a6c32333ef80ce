// Package pii finds personal data in text and replaces it as the text
// streams through.
//
// It knows nothing of rules, OSS or HTTP. A caller compiles a Config once
// with New and then uses the Redactor, from any number of goroutines, on
// any number of objects:
//
//	r, err := pii.New(pii.Config{Detectors: []string{"email", "phone"}, KeepLast: 4})
//	kind, ok := pii.KindOf(contentType, key)     // !ok: binary, do not redact
//	if kind == pii.KindText && r.PreservesLength() {
//		// Content-Length is the object's own length.
//		io.Copy(w, r.Reader(body))
//	} else {
//		out, err := r.RedactSpooled(ctx, body, kind, spool.Options{Memory: 32 << 20, File: 1 << 30})
//		// send out.Size as Content-Length, then out; Close out.
//	}
//
// # Built-in detectors
//
// Each is named as below in Config.Detectors and, upper-cased, in entity
// tokens. "Bounded" means the byte before and the byte after the value are
// not ASCII letters or digits; for the numeric detectors (phone, cn_id,
// bank_card, ipv4) it also means the value does not continue a decimal or
// dotted number: no digit-and-dot before it, no dot-and-digit after it (so
// 3.14159265358979 and 1.2.3.4.5 hold nothing). A value found just before
// counts as a boundary, as its mask will.
//
//   - email: local part of letters, digits and . _ % + - (atext less the
//     characters logs and URLs use as delimiters, such as ' = / { }), 1..64
//     bytes, no leading, trailing or doubled dot (a run with ".." is cut
//     after it); '@'; domain of at least two dot-separated labels of
//     letters, digits and '-', each 1..63 bytes and not starting or ending
//     with '-', the last alphabetic and at least 2 long; at most 254 bytes.
//     Trailing labels that break the TLD rule are left out ("a@b.com.123"
//     gives "a@b.com"). Not matched: a@b, foo@localhost, user@@x.com,
//     @handle, x@.com, x.@y.com, a@10.0.0.1. When a value of another
//     detector is the start of an e-mail's local part
//     ("13812345678@qq.com"), the whole address is the match.
//   - phone: a mainland China mobile, 1[3-9] and nine more digits, written
//     contiguously or grouped 3-4-4 by one kind of separator (space or
//     '-'), optionally behind +86, 0086 or 86 and an optional single space
//     or '-'; or E.164: '+', a country code not starting with 0, 8..15
//     digits in all, contiguous. Bounded; '+' must not follow a letter or
//     digit.
//   - cn_id: 17 digits and a digit or X/x, bounded, first digit 1..8, a real
//     birth date (digits 7..14) between 1900-01-01 and today, and the ISO
//     7064 MOD 11-2 check character.
//   - bank_card: 13..19 digits passing Luhn, first digit 2..6 (the card
//     networks' ranges; this keeps epoch milliseconds and nanoseconds, which
//     start with 1, out), bounded; contiguous or grouped by one kind of
//     separator (space or '-') as a group of 4 then groups of 3..6 (4-4-4-4,
//     4-6-5, 4-4-4-4-3). If grouping runs past a valid number, the longest
//     valid run of whole groups is taken.
//   - ipv4: four decimal octets 0..255 without leading zeros, bounded as a
//     number (so not part of a longer dotted run like a version string).
//   - ipv6: a run of hex digits, ':' and '.' (a trailing '.' or lone ':' is
//     left out) that is not touched by a letter, digit, ':' or '.', holds at
//     least two colons and two groups, and that net/netip parses as IPv6:
//     full, "::"-compressed, or with an embedded IPv4. A zone ("%eth0") is
//     not part of the match. Clock times (12:30:45), MAC addresses and "::1"
//     are not matched.
//   - aliyun_access_key: an AccessKey ID, "LTAI" and 12..30 letters or
//     digits, as a whole word.
//   - jwt: three non-empty base64url segments joined by '.', the first
//     starting "eyJ" and decoding to a JSON object, the second valid
//     base64url decoding to text that starts with '{', at most 8192 bytes,
//     not followed by a fourth segment (five-part JWE tokens are not
//     matched).
//
// Where two detectors fit the same text, the stricter names it: cn_id, then
// phone, then bank_card, then ipv4.
//
// # Operator patterns
//
// Config.Patterns adds named RE2 expressions, each run as one regexp pass
// over the text. They work line by line: classes and '.' never match '\n',
// ^ and $ (and \A, \z) match at line boundaries. MaxLength (default 256)
// bounds a match; it matters only for lines longer than 32 KiB, which are
// searched in overlapping 32 KiB pieces. A pattern with a literal prefix is
// skipped quickly on text without it; one without is far slower than the
// built-ins (see BenchmarkPatterns).
//
// Matches of all detectors are resolved in order of start: a match is kept
// unless it overlaps one kept before it; at the same start, built-ins win,
// then patterns in configuration order.
//
// # Replacement styles
//
//   - mask (default): every byte becomes Config.Mask ('*'), except the last
//     KeepLast characters. Keeps the byte length.
//   - replace: Config.Replace, any length, maybe empty.
//   - entity: [EMAIL], [PHONE], [CN_ID], [BANK_CARD], [IPV4], [IPV6],
//     [ALIYUN_ACCESS_KEY], [JWT], a pattern's name upper-cased ([ORDER_NO]),
//     and [REDACTED] for a JSON field or CSV column selected by name.
//   - hash: [ENTITY:token], token being HMAC-SHA256(HashKey, value) in hex
//     (or base64url), cut to HashLen characters (default 16). A value gives
//     the same token under the same key, so redacted data can still be
//     joined on it.
//
// # Streaming, length and memory
//
// Reader redacts text in a fixed window of about 100 KiB (more if patterns
// declare a large MaxLength): it holds back only as many bytes as the
// longest match and its context could span, so memory does not grow with
// the object, and a value split across reads is found as if it were not.
// Values longer than their detector's maximum are never matched, so the
// output does not depend on how the input was read. With the mask style
// the output has exactly the input's length.
//
// # Structured kinds
//
// JSON (Redact with KindJSON) is validated and copied byte for byte, all
// but the values redacted: whitespace, key order, escapes and number
// literals stay as they were. A value whose key is in JSONKeys (ASCII
// case-insensitive) or whose path matches JSONPaths ($.a.b, $.a[*].c,
// $.a[0], $..name, $['odd key'], .*) is redacted whole: a string becomes
// the replacement of its text, a number becomes a string holding the
// replacement of its literal, true, false and null stay, and an object or
// array has its strings and numbers redacted the same way, keeping its
// shape. Other strings go through the detectors; one with a match is
// written back with only the escaping JSON needs. Object keys never
// change. Several documents in a row are fine. The document streams; one
// string is held at a time, at most MaxLine bytes, and nesting is limited
// to 10000 levels.
//
// NDJSON is one JSON value per line with the same rules; blank lines and
// each line's terminator ("\n" or "\r\n") are kept. A line longer than
// Config.MaxLine (default 8 MiB) stops with a *LineTooLongError; a line
// that is not one JSON value stops with an error naming the line.
//
// CSV takes the first record as the header, copied unchanged. Non-empty
// cells of the columns named in CSVColumns are redacted whole; other cells
// go through the detectors. Records keep their number of fields. The
// output is re-encoded by encoding/csv, so quoting can change, but each
// cell that is not redacted parses back to exactly its value.
//
// These kinds change length; RedactSpooled buffers the output through
// package spool (in memory, then in an unlinked temporary file) to learn
// it, within the spool's limits and budgets.
package pii
