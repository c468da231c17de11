package rewrite

import (
	"bytes"
	"encoding/json"
	"sort"
)

// Request says what a request body should become.
type Request struct {
	Model       string // the model to send when the body names none, or always with Override
	Override    bool
	InjectUsage bool // add stream_options.include_usage to a stream that lacks it
}

// Result is what EditRequest did.
type Result struct {
	Body      []byte // nil when the body stays as it is
	ModelSent string // the model the upstream gets, "" if none
	Injected  bool   // include_usage was added
}

type edit struct {
	at, end int // replace b[at:end]
	text    string
}

// EditRequest applies r to a JSON object body. A body that is not a JSON
// object is left alone (err says why).
func EditRequest(b []byte, r Request) (Result, error) {
	ms, open, err := topMembers(b)
	if err != nil {
		return Result{}, err
	}
	var res Result
	var edits []edit
	var front []string // members to add right after '{'

	if m := find(ms, "model"); m == nil {
		if r.Model != "" {
			front = append(front, `"model":`+quote(r.Model))
			res.ModelSent = r.Model
		}
	} else {
		var sent string
		_ = json.Unmarshal(b[m.valueStart:m.valueEnd], &sent)
		res.ModelSent = sent
		if r.Override && r.Model != "" && sent != r.Model {
			edits = append(edits, edit{m.valueStart, m.valueEnd, quote(r.Model)})
			res.ModelSent = r.Model
		}
	}
	if r.InjectUsage {
		if e, add, ok := injectUsage(b, ms); ok {
			res.Injected = true
			if add != "" {
				front = append(front, add)
			} else {
				edits = append(edits, e)
			}
		}
	}
	if len(front) > 0 {
		text := ""
		for _, f := range front {
			text += f + ","
		}
		if len(ms) == 0 {
			text = text[:len(text)-1]
		}
		edits = append(edits, edit{open, open, text})
	}
	if len(edits) == 0 {
		return res, nil
	}
	res.Body = apply(b, edits)
	return res, nil
}

// injectUsage finds how to ask a stream for usage: an edit inside an
// existing stream_options, or a member to add.
func injectUsage(b []byte, ms []member) (e edit, add string, ok bool) {
	if s := find(ms, "stream"); s == nil || string(b[s.valueStart:s.valueEnd]) != "true" {
		return edit{}, "", false
	}
	so := find(ms, "stream_options")
	if so == nil || string(b[so.valueStart:so.valueEnd]) == "null" {
		if so != nil {
			return edit{so.valueStart, so.valueEnd, `{"include_usage":true}`}, "", true
		}
		return edit{}, `"stream_options":{"include_usage":true}`, true
	}
	inner, innerOpen, err := topMembers(b[so.valueStart:so.valueEnd])
	if err != nil {
		return edit{}, "", false
	}
	if iu := find(inner, "include_usage"); iu != nil {
		v := string(b[so.valueStart+iu.valueStart : so.valueStart+iu.valueEnd])
		if v == "true" {
			return edit{}, "", false // the client asked: nothing to do, nothing to remove
		}
		return edit{so.valueStart + iu.valueStart, so.valueStart + iu.valueEnd, "true"}, "", true
	}
	text := `"include_usage":true,`
	if len(inner) == 0 {
		text = `"include_usage":true`
	}
	at := so.valueStart + innerOpen
	return edit{at, at, text}, "", true
}

func apply(b []byte, edits []edit) []byte {
	sort.Slice(edits, func(i, j int) bool { return edits[i].at < edits[j].at })
	var out bytes.Buffer
	out.Grow(len(b) + 64)
	prev := 0
	for _, e := range edits {
		out.Write(b[prev:e.at])
		out.WriteString(e.text)
		prev = e.end
	}
	out.Write(b[prev:])
	return out.Bytes()
}

func quote(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}
