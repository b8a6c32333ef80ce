package pngdec

// havePaethVector: every amd64 CPU has SSE2.
const havePaethVector = true

// paethSSE2 is in paeth_amd64.s.
//
//go:noescape
func paethSSE2(dst, src, prev []byte, in int)
