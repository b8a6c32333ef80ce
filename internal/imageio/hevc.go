package imageio

import (
	"errors"
	"fmt"
)

// hevcPictureSize reads pic_width_in_luma_samples and
// pic_height_in_luma_samples from the sequence parameter set inside an
// HEVC decoder configuration record (hvcC, ISO/IEC 14496-15 8.3.3): the
// size the decoder allocates, which a hostile file may set far above what
// its ispe box claims. Syntax: ITU-T H.265 7.3.2.2 and 7.3.3.
func hevcPictureSize(hvcC []byte) (w, h int, err error) {
	sps, err := hevcSPS(hvcC)
	return sps.width, sps.height, err
}

// hevcParams is what a sequence parameter set says about the pictures.
type hevcParams struct {
	profile       int // general_profile_idc: 1 Main, 2 Main 10, 3 Main Still Picture, 4 range extensions
	chroma        int // chroma_format_idc: 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4
	width, height int
	bitDepth      int // of luma
}

func hevcSPS(hvcC []byte) (hevcParams, error) {
	r := &fieldReader{b: hvcC}
	r.take(22) // configuration record header
	arrays := int(r.u8())
	for range arrays {
		nalType := r.u8() & 0x3F
		n := int(r.u16())
		for range n {
			nal := r.take(int(r.u16()))
			if r.err != nil {
				return hevcParams{}, fmt.Errorf("heif: hvcC: %w", r.err)
			}
			if nalType == 33 && len(nal) > 2 {
				return parseSPS(unescapeRBSP(nal[2:]))
			}
		}
	}
	if r.err != nil {
		return hevcParams{}, fmt.Errorf("heif: hvcC: %w", r.err)
	}
	return hevcParams{}, errors.New("heif: hvcC without a sequence parameter set")
}

// unescapeRBSP drops the emulation prevention bytes (00 00 03 → 00 00).
func unescapeRBSP(b []byte) []byte {
	out := make([]byte, 0, len(b))
	zeros := 0
	for _, c := range b {
		if zeros >= 2 && c == 3 {
			zeros = 0
			continue
		}
		out = append(out, c)
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return out
}

func parseSPS(rbsp []byte) (p hevcParams, err error) {
	br := &bitReader{b: rbsp}
	br.bits(4) // sps_video_parameter_set_id
	subLayers := int(br.bits(3))
	br.bits(1)
	// profile_tier_level(1, subLayers): general profile and level, 96 bits.
	p.profile = int(br.bits(8) & 31)
	br.bits(32)
	br.bits(32)
	br.bits(24)
	profile := make([]bool, subLayers)
	level := make([]bool, subLayers)
	for i := range subLayers {
		profile[i], level[i] = br.bits(1) == 1, br.bits(1) == 1
	}
	if subLayers > 0 {
		for range 8 - subLayers {
			br.bits(2)
		}
	}
	for i := range subLayers {
		if profile[i] {
			br.bits(32)
			br.bits(32)
			br.bits(24)
		}
		if level[i] {
			br.bits(8)
		}
	}
	br.ue() // sps_seq_parameter_set_id
	p.chroma = int(br.ue())
	if p.chroma == 3 {
		br.bits(1) // separate_colour_plane_flag
	}
	p.width, p.height = int(br.ue()), int(br.ue())
	if br.bits(1) == 1 { // conformance window
		br.ue()
		br.ue()
		br.ue()
		br.ue()
	}
	p.bitDepth = int(br.ue()) + 8
	if br.err != nil {
		return p, fmt.Errorf("heif: sequence parameter set: %w", br.err)
	}
	if p.width <= 0 || p.height <= 0 || p.width > 1<<16 || p.height > 1<<16 {
		return p, fmt.Errorf("heif: sequence parameter set declares %d×%d", p.width, p.height)
	}
	return p, nil
}

// bitReader reads an RBSP most significant bit first.
type bitReader struct {
	b   []byte
	pos int // in bits
	err error
}

func (r *bitReader) bits(n int) uint32 {
	var v uint32
	for range n {
		if r.pos >= 8*len(r.b) {
			r.err = errHEIFTruncated
			return 0
		}
		v = v<<1 | uint32(r.b[r.pos/8]>>(7-r.pos%8)&1)
		r.pos++
	}
	return v
}

// ue reads an unsigned Exp-Golomb code; codes longer than 31 bits are
// refused.
func (r *bitReader) ue() uint32 {
	zeros := 0
	for r.bits(1) == 0 {
		if r.err != nil {
			return 0
		}
		if zeros++; zeros > 31 {
			r.err = errors.New("exp-Golomb code too long")
			return 0
		}
	}
	return 1<<zeros - 1 + r.bits(zeros)
}
