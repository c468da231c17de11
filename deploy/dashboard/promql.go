package dashboard

import (
	"fmt"
	"regexp"
	"strings"
)

// Refs are the names a PromQL expression uses.
type Refs struct {
	Metrics   []string
	Labels    []string // in matchers, grouping and vector matching
	Kept      []string // by, on, group_left, group_right: labels a result keeps
	Variables []string // Grafana variables, without the $
}

type tokenKind int

const (
	tIdent tokenKind = iota
	tString
	tNumber
	tVariable
	tRange // [5m], [$__rate_interval], [1h:5m]
	tOp
)

type token struct {
	kind tokenKind
	text string
}

var (
	identRe    = regexp.MustCompile(`^[A-Za-z_:][A-Za-z0-9_:]*`)
	numberRe   = regexp.MustCompile(`^[0-9][0-9A-Za-z.]*`)
	variableRe = regexp.MustCompile(`^\$(?:\{([A-Za-z0-9_]+)(?::[a-z]+)?\}|([A-Za-z0-9_]+))`)
	stringRe   = regexp.MustCompile("^(?:\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`)")
	opRe       = regexp.MustCompile(`^(?:=~|!~|!=|==|>=|<=|[(){},=<>+\-*/%^@])`)
)

// lex splits an expression into tokens; it knows PromQL's lexical rules
// well enough to find names, not to evaluate.
func lex(expr string) ([]token, error) {
	var toks []token
	for s := expr; ; {
		s = strings.TrimLeft(s, " \t\r\n")
		if s == "" {
			return toks, nil
		}
		var m string
		var kind tokenKind
		switch {
		case s[0] == '#':
			end := strings.IndexByte(s, '\n')
			if end < 0 {
				return toks, nil
			}
			s = s[end:]
			continue
		case s[0] == '[':
			end := strings.IndexByte(s, ']')
			if end < 0 {
				return nil, fmt.Errorf("unclosed [ in %q", expr)
			}
			m, kind = s[:end+1], tRange
		case s[0] == '$':
			if m = variableRe.FindString(s); m == "" {
				return nil, fmt.Errorf("bad variable at %q", s)
			}
			kind = tVariable
		default:
			for _, c := range []struct {
				re   *regexp.Regexp
				kind tokenKind
			}{{stringRe, tString}, {identRe, tIdent}, {numberRe, tNumber}, {opRe, tOp}} {
				if m = c.re.FindString(s); m != "" {
					kind = c.kind
					break
				}
			}
			if m == "" {
				return nil, fmt.Errorf("unexpected %q in %q", s[:1], expr)
			}
		}
		toks = append(toks, token{kind, m})
		s = s[len(m):]
	}
}

// Keywords followed by a parenthesised list of label names.
var labelListKeywords = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true}

// Other keywords, never metric names.
var keywords = map[string]bool{"offset": true, "bool": true, "and": true, "or": true, "unless": true, "atan2": true, "inf": true, "nan": true}

// Parse finds the metrics, labels and variables an expression names.
func Parse(expr string) (Refs, error) {
	toks, err := lex(expr)
	if err != nil {
		return Refs{}, err
	}
	depth := 0
	for _, t := range toks {
		switch t.text {
		case "(":
			depth++
		case ")":
			depth--
		}
		if depth < 0 {
			break
		}
	}
	if depth != 0 {
		return Refs{}, fmt.Errorf("unbalanced parentheses in %q", expr)
	}
	var r Refs
	for _, t := range toks {
		if t.kind == tVariable || t.kind == tRange || t.kind == tString {
			r.Variables = append(r.Variables, variablesIn(t.text)...)
		}
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		next := func(k int) token {
			if i+k < len(toks) {
				return toks[i+k]
			}
			return token{kind: -1}
		}
		switch {
		case t.kind == tIdent && labelListKeywords[t.text]:
			if next(1).text != "(" {
				return Refs{}, fmt.Errorf("%s without a label list in %q", t.text, expr)
			}
			j := i + 2
			for ; j < len(toks) && toks[j].text != ")"; j++ {
				if toks[j].kind == tIdent {
					r.Labels = append(r.Labels, toks[j].text)
					if t.text != "without" && t.text != "ignoring" {
						r.Kept = append(r.Kept, toks[j].text)
					}
				} else if toks[j].text != "," {
					return Refs{}, fmt.Errorf("%q in the label list of %s", toks[j].text, t.text)
				}
			}
			i = j
		case t.kind == tIdent && keywords[strings.ToLower(t.text)]:
		case t.kind == tIdent && (next(1).text == "(" || next(1).text == "by" || next(1).text == "without"):
			// a function, or an aggregation (sum by (x) (...))
		case t.kind == tIdent:
			r.Metrics = append(r.Metrics, t.text)
		case t.text == "{":
			j := i + 1
			for j < len(toks) && toks[j].text != "}" {
				if j+2 >= len(toks) {
					return Refs{}, fmt.Errorf("unclosed { in %q", expr)
				}
				name, op, val := toks[j], toks[j+1], toks[j+2]
				if name.kind != tIdent && name.kind != tString || op.kind != tOp || val.kind != tString {
					return Refs{}, fmt.Errorf("bad label matcher at %q in %q", name.text, expr)
				}
				r.Labels = append(r.Labels, strings.Trim(name.text, "\"'`"))
				if j += 3; j < len(toks) && toks[j].text == "," {
					j++
				}
			}
			if j >= len(toks) {
				return Refs{}, fmt.Errorf("unclosed { in %q", expr)
			}
			i = j
		}
	}
	return r, nil
}

var varNameRe = regexp.MustCompile(`\$(?:\{([A-Za-z0-9_]+)(?::[a-z]+)?\}|([A-Za-z0-9_]+))`)

func variablesIn(s string) []string {
	var out []string
	for _, m := range varNameRe.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1]+m[2])
	}
	return out
}

var labelValuesRe = regexp.MustCompile(`^\s*label_values\(\s*(?:(.*?)\s*,\s*)?([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$`)

// ParseVariableQuery reads a Grafana Prometheus variable query; only
// label_values([selector,] label) is used here.
func ParseVariableQuery(q string) (Refs, error) {
	m := labelValuesRe.FindStringSubmatch(q)
	if m == nil {
		return Refs{}, fmt.Errorf("variable query %q: want label_values([selector,] label)", q)
	}
	r := Refs{}
	if m[1] != "" {
		var err error
		if r, err = Parse(m[1]); err != nil {
			return Refs{}, err
		}
	}
	r.Labels = append(r.Labels, m[2])
	return r, nil
}

var legendRe = regexp.MustCompile(`\{\{\s*([^}\s]+)\s*\}\}`)

// LegendLabels are the labels a legend format shows.
func LegendLabels(format string) []string {
	var out []string
	for _, m := range legendRe.FindAllStringSubmatch(format, -1) {
		out = append(out, m[1])
	}
	return out
}
