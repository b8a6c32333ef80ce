package jpegenc

import "slices"

// huffTable is one Huffman table: the symbol counts of the counting pass,
// then the code fitted to them.
type huffTable struct {
	freq [256]int64
	code [256]uint16
	size [256]uint8
	// bits[l] is the number of codes of length l (1..16); vals lists the
	// symbols by increasing code length, as DHT stores them.
	bits [17]uint8
	vals []uint8
}

// build fits a length-limited (16 bits) canonical code to the counts, the
// method of T.81 Annex K.2: a Huffman code over the symbols plus one
// reserved symbol of count 1 (so that no real code is all ones), its
// lengths cut to 16 by moving pairs of leaves up the tree, then the
// reserved code dropped. Symbols never counted get no code.
func (t *huffTable) build() {
	type node struct {
		freq   int64
		parent int32
	}
	const reserved = 256
	var leaf [257]int32 // node index of each symbol, -1 when unused
	nodes := make([]node, 0, 2*257)
	var active []int32
	for s := range 257 {
		leaf[s] = -1
		f := int64(1)
		if s < 256 {
			f = t.freq[s]
		}
		if f > 0 {
			leaf[s] = int32(len(nodes))
			active = append(active, int32(len(nodes)))
			nodes = append(nodes, node{freq: f, parent: -1})
		}
	}
	if len(active) == 1 {
		// Only the reserved symbol: give the table one real code, so that
		// its DHT is well-formed.
		t.freq[0] = 1
		t.build()
		return
	}
	for len(active) > 1 {
		// The two least frequent nodes; among equals the later one, which
		// keeps the tree shallow when the counts tie.
		a, b := -1, -1
		for i, n := range active {
			switch {
			case a < 0 || nodes[n].freq <= nodes[active[a]].freq:
				b, a = a, i
			case b < 0 || nodes[n].freq <= nodes[active[b]].freq:
				b = i
			}
		}
		na, nb := active[a], active[b]
		p := int32(len(nodes))
		nodes = append(nodes, node{freq: nodes[na].freq + nodes[nb].freq, parent: -1})
		nodes[na].parent, nodes[nb].parent = p, p
		active[a] = p
		active = slices.Delete(active, b, b+1)
	}
	// Code length of every used symbol: its leaf's depth.
	var length [257]int
	var count [64]int
	for s, n := range leaf {
		if n < 0 {
			continue
		}
		d := 0
		for p := nodes[n].parent; p >= 0; p = nodes[p].parent {
			d++
		}
		length[s] = d
		count[d]++
	}
	// Annex K.3's adjustment: while a length above 16 is used, take two
	// leaves of the longest length i, put one in their parent's place
	// (length i-1) and pair the other with a leaf of the longest length j
	// below i-1 (which moves down to j+1, with it).
	for i := len(count) - 1; i > 16; i-- {
		for count[i] > 0 {
			j := i - 2
			for count[j] == 0 {
				j--
			}
			count[i] -= 2
			count[i-1]++
			count[j+1] += 2
			count[j]--
		}
	}
	// Drop the reserved code: it is one of the longest.
	i := 16
	for count[i] == 0 {
		i--
	}
	count[i]--
	// Symbols in order of their Huffman length (the most frequent first),
	// then value; they take the adjusted lengths in that order.
	syms := make([]uint8, 0, 256)
	for s := range 256 {
		if leaf[s] >= 0 {
			syms = append(syms, uint8(s))
		}
	}
	slices.SortStableFunc(syms, func(a, b uint8) int { return length[a] - length[b] })
	t.vals = syms
	t.bits = [17]uint8{}
	k := 0
	code := uint16(0)
	t.size = [256]uint8{}
	for l := 1; l <= 16; l++ {
		t.bits[l] = uint8(count[l])
		for range count[l] {
			s := syms[k]
			t.code[s], t.size[s] = code, uint8(l)
			code++
			k++
		}
		code <<= 1
	}
}
