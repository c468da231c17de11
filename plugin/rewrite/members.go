// Package rewrite edits what the plugin must change on the wire, minimally:
// a request body's top-level members (model, stream_options), and an
// OpenAI-style stream's usage additions. Every other byte stays as it was.
package rewrite

import "errors"

// member is one top-level member of a JSON object: the key and the span of
// its value in the body, and where the member starts (its key's quote).
type member struct {
	key        string
	start      int // the key's opening quote
	valueStart int
	valueEnd   int
}

var errNotObject = errors.New("not a JSON object")

// topMembers lists the members of the object that b holds, and the index
// just after its '{'.
func topMembers(b []byte) (members []member, open int, err error) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, 0, errNotObject
	}
	open = i + 1
	i = skipSpace(b, open)
	if i < len(b) && b[i] == '}' {
		return nil, open, checkEnd(b, i+1)
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return nil, 0, errNotObject
		}
		m := member{start: i}
		end, err := skipString(b, i)
		if err != nil {
			return nil, 0, err
		}
		m.key = string(b[i+1 : end-1])
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return nil, 0, errNotObject
		}
		m.valueStart = skipSpace(b, i+1)
		if m.valueEnd, err = skipValue(b, m.valueStart); err != nil {
			return nil, 0, err
		}
		members = append(members, m)
		i = skipSpace(b, m.valueEnd)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
			continue
		}
		if i < len(b) && b[i] == '}' {
			return members, open, checkEnd(b, i+1)
		}
		return nil, 0, errNotObject
	}
}

func checkEnd(b []byte, i int) error {
	if skipSpace(b, i) != len(b) {
		return errNotObject
	}
	return nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

func skipString(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, errNotObject
}

// skipValue returns the end of the value at b[i:], checking only nesting.
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errNotObject
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, err := skipString(b, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errNotObject
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' && b[j] != '\r' && b[j] != '\t' {
		j++
	}
	if j == i {
		return 0, errNotObject
	}
	return j, nil
}

func find(ms []member, key string) *member {
	for i := range ms {
		if ms[i].key == key {
			return &ms[i]
		}
	}
	return nil
}
