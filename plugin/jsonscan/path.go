// Package jsonscan reads selected values out of a JSON document fed in
// arbitrary chunks, without holding the document: memory is bounded by the
// nesting depth of the paths of interest and a small value cap, never by the
// size of the body.
package jsonscan

import "strings"

// Node is one step of a path of interest. Values at a node with a non-zero
// Slot are reported to the Sink; subtrees with no node are skipped.
type Node struct {
	keys  []string
	next  []*Node
	items *Node // elements of an array, whatever their index
	Slot  int
	// streamed string values go to a PieceSink whole, piece by piece.
	streamed bool
}

// NewTree builds the tree for a set of paths. A path is a list of object
// keys separated by '.', where the element "[]" stands for any array element:
// "usage.prompt_tokens", "choices.[].usage.total_tokens", "[].usageMetadata".
// A path ending in '*' marks a string whose value is passed on whole, in
// pieces, to a PieceSink instead of being cut to MaxValue.
func NewTree(paths map[string]int) *Node {
	root := &Node{}
	for p, slot := range paths {
		streamed := strings.HasSuffix(p, "*")
		p = strings.TrimSuffix(p, "*")
		n := root
		for _, el := range strings.Split(p, ".") {
			n = n.child(el)
		}
		n.Slot, n.streamed = slot, streamed
	}
	return root
}

func (n *Node) child(el string) *Node {
	if el == "[]" {
		if n.items == nil {
			n.items = &Node{}
		}
		return n.items
	}
	for i, k := range n.keys {
		if k == el {
			return n.next[i]
		}
	}
	c := &Node{}
	n.keys = append(n.keys, el)
	n.next = append(n.next, c)
	return c
}

func (n *Node) lookup(key []byte) *Node {
	if n == nil {
		return nil
	}
	for i, k := range n.keys {
		// The first byte first: most keys differ there, and comparing
		// the rest is a runtime call.
		if len(k) == len(key) && (len(k) == 0 || k[0] == key[0]) && k == string(key) {
			return n.next[i]
		}
	}
	return nil
}
