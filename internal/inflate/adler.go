package inflate

import "encoding/binary"

// adler32Sum is Adler-32 (RFC 1950 8.2). hash/adler32 adds one byte at a
// time and was a quarter of Zlib's time on PNG data; this sums 128-byte
// groups in 16-bit lanes of uint64 words (SWAR), about one operation a
// byte instead of three.
//
// For a group of 128 bytes b_0..b_127, s2 grows by 128·s1 + Σ (128-i)·b_i
// and s1 by Σ b_i. The word loop keeps, for each of the 8 byte positions j
// in a word, v_j = Σ_t b_{t,j} and p_j = Σ_t (16-t)·b_{t,j} (t the word),
// so that Σ (128-i)·b_i = 8·Σ p_j - Σ j·v_j. Lanes stay below 2^16:
// v_j ≤ 16·255, p_j ≤ 136·255.
func adler32Sum(p []byte) uint32 {
	const (
		mod  = 65521
		m    = 0x00ff00ff00ff00ff
		ones = 0x0001000100010001
		// Multipliers whose top lane collects Σ j·v_j for the even
		// (j = 0,2,4,6) and odd (j = 1,3,5,7) positions.
		kEven = 0<<48 | 2<<32 | 4<<16 | 6
		kOdd  = 1<<48 | 3<<32 | 5<<16 | 7
	)
	s1, s2 := uint32(1), uint32(0)
	for len(p) > 0 {
		// 5504 = 43·128 ≤ zlib's NMAX (5552): s2 cannot pass 2^32
		// before the modulo.
		chunk := p[:min(len(p), 5504)]
		p = p[len(chunk):]
		for len(chunk) >= 128 {
			g := chunk[:128]
			var ve, vo, pe, po uint64
			for t := 0; t < 128; t += 8 {
				w := binary.LittleEndian.Uint64(g[t : t+8])
				ve += w & m
				vo += w >> 8 & m
				pe += ve
				po += vo
			}
			sum := uint32((ve*ones)>>48 + (vo*ones)>>48)
			q := pe&0x0000ffff0000ffff + pe>>16&0x0000ffff0000ffff +
				po&0x0000ffff0000ffff + po>>16&0x0000ffff0000ffff
			psum := uint32(q) + uint32(q>>32)
			jsum := uint32((ve*kEven)>>48 + (vo*kOdd)>>48)
			s2 += 128*s1 + 8*psum - jsum
			s1 += sum
			chunk = chunk[128:]
		}
		for _, b := range chunk {
			s1 += uint32(b)
			s2 += s1
		}
		s1 %= mod
		s2 %= mod
	}
	return s2<<16 | s1
}
