package decode

// huffman is a canonical Huffman code (RFC 1951 3.2.2): codes of each length
// are consecutive, so a code is decoded bit by bit from the counts. A table
// on the first fastBits bits decodes most symbols in one step.
type huffman struct {
	count  [maxBits + 1]uint16
	symbol [288]uint16
	fast   [1 << fastBits]uint16 // symbol<<4 | length, 0 when longer
}

const (
	maxBits  = 15
	fastBits = 9
)

// build makes the code for lengths; incomplete codes are allowed, as RFC
// 1951 permits a distance code of one symbol.
func (h *huffman) build(lengths []uint8) bool {
	*h = huffman{}
	for _, l := range lengths {
		h.count[l]++
	}
	left := 1
	for l := 1; l <= maxBits; l++ {
		left = left<<1 - int(h.count[l])
		if left < 0 {
			return false // over-subscribed
		}
	}
	var offs [maxBits + 2]uint16
	for l := 1; l <= maxBits; l++ {
		offs[l+1] = offs[l] + h.count[l]
	}
	for sym, l := range lengths {
		if l != 0 {
			h.symbol[offs[l]] = uint16(sym)
			offs[l]++
		}
	}
	// Fast table: codes are sent most significant bit first, bits are read
	// least significant first, so index by the reversed code.
	code, next := 0, [maxBits + 1]int{}
	h.count[0] = 0
	for l := 1; l <= maxBits; l++ {
		code = (code + int(h.count[l-1])) << 1
		next[l] = code
	}
	for sym, l := range lengths {
		if l == 0 || l > fastBits {
			continue
		}
		rev := reverse(next[l], int(l))
		next[l]++
		for i := rev; i < len(h.fast); i += 1 << l {
			h.fast[i] = uint16(sym)<<4 | uint16(l)
		}
	}
	return true
}

func reverse(code, n int) int {
	r := 0
	for i := 0; i < n; i++ {
		r = r<<1 | code&1
		code >>= 1
	}
	return r
}

// decode reads one symbol from the low bits of bits (n of them valid)
// without consuming them: it returns the symbol and its length, length 0
// when more bits are needed, or -1 for an invalid code.
func (h *huffman) decode(bits uint64, n uint) (sym, length int) {
	if e := h.fast[bits&(1<<fastBits-1)]; e != 0 && uint(e&15) <= n {
		return int(e >> 4), int(e & 15)
	}
	code, first, index := 0, 0, 0
	for l := 1; l <= maxBits; l++ {
		if uint(l) > n {
			return 0, 0
		}
		code |= int(bits>>(l-1)) & 1
		count := int(h.count[l])
		if code-count < first {
			return int(h.symbol[index+code-first]), l
		}
		index += count
		first = (first + count) << 1
		code <<= 1
	}
	return 0, -1
}
