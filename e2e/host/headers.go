package host

import "strings"

// headerMap keeps insertion order; names are stored lower-case like Envoy's
// LowerCaseString keys.
type headerMap struct{ pairs [][2]string }

func newHeaderMap(in [][2]string) *headerMap {
	m := &headerMap{}
	for _, p := range in {
		m.add(p[0], p[1])
	}
	return m
}

func (m *headerMap) get(k string) (string, bool) {
	k = strings.ToLower(k)
	for _, p := range m.pairs {
		if p[0] == k {
			return p[1], true
		}
	}
	return "", false
}

func (m *headerMap) add(k, v string) {
	m.pairs = append(m.pairs, [2]string{strings.ToLower(k), v})
}

func (m *headerMap) remove(k string) {
	k = strings.ToLower(k)
	out := m.pairs[:0]
	for _, p := range m.pairs {
		if p[0] != k {
			out = append(out, p)
		}
	}
	m.pairs = out
}

// replace sets the first entry in place and drops later duplicates (or appends).
func (m *headerMap) replace(k, v string) {
	k = strings.ToLower(k)
	found := false
	out := m.pairs[:0]
	for _, p := range m.pairs {
		if p[0] == k {
			if found {
				continue
			}
			found = true
			p[1] = v
		}
		out = append(out, p)
	}
	m.pairs = out
	if !found {
		m.pairs = append(m.pairs, [2]string{k, v})
	}
}

func (m *headerMap) byteSize() int {
	n := 0
	for _, p := range m.pairs {
		n += len(p[0]) + len(p[1])
	}
	return n
}

func (m *headerMap) clone() [][2]string {
	if m == nil {
		return nil
	}
	return append([][2]string(nil), m.pairs...)
}
