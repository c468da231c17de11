package api

import (
	"math"
	"strconv"

	"github.com/llmproxy/llmproxy/plugin/intern"
	"github.com/llmproxy/llmproxy/plugin/jsonscan"
	"github.com/llmproxy/llmproxy/plugin/usage"
)

// values collects what the scanner reports, last value winning per field.
// A response keeps two: the document being read, and what complete,
// well-formed documents reported, into which the first is merged.
type values struct {
	counts  [numFields]usage.Count
	model   string
	errBody bool
	// What an error body says about itself, bounded by jsonscan.MaxValue;
	// read only in errors, so the strings cost nothing otherwise.
	errs [ErrorDetail - ErrorCode + 1]string // by Field from ErrorCode
	done bool
	// Request parameters, as written (request_parameters only).
	params   [ParamN - ParamTemperature + 1]string
	tools    int
	toolsSet bool
	invalid  int // numbers that were negative, fractional or too large
}

// Value implements jsonscan.Sink.
func (v *values) Value(slot int, kind jsonscan.Kind, raw []byte) {
	f := Field(slot)
	switch f {
	case RequestModel, ResponseModel:
		// Azure's first chunk has an empty model; never let it erase one.
		if kind == jsonscan.String && len(raw) > 0 && string(raw) != v.model {
			v.model = intern.Bytes(raw)
		}
	case ErrorBody:
		// Responses streams send "error": null in every event; Ollama and
		// OpenAI-compatible servers send an error object or string.
		if kind != jsonscan.Null {
			v.errBody = true
		}
		if kind == jsonscan.String {
			v.setErr(ErrorMessage, string(raw))
		}
	case ErrorCode, ErrorKind, ErrorMessage, ErrorDetail:
		if kind == jsonscan.String || kind == jsonscan.Number {
			v.setErr(f, string(raw))
		}
	case Done:
		v.done = v.done || kind == jsonscan.True
	case InvokeChunk:
	case ParamTemperature, ParamTopP, ParamMaxTokens, ParamSeed, ParamN:
		if kind == jsonscan.Number {
			v.params[f-ParamTemperature] = string(raw)
		}
	case ParamStream:
		switch kind {
		case jsonscan.True:
			v.params[f-ParamTemperature] = "true"
		case jsonscan.False:
			v.params[f-ParamTemperature] = "false"
		}
	case ParamTool:
		v.tools++
		v.toolsSet = true
	default:
		if kind != jsonscan.Number {
			return
		}
		if n, ok := parseCount(raw); ok {
			v.counts[f].Put(n)
		} else {
			v.invalid++
		}
	}
}

// reported says whether a document reported a token count or an error.
func (v *values) reported() bool {
	for _, c := range v.counts {
		if c.Set {
			return true
		}
	}
	return v.errBody
}

// merge takes what a complete document reported.
func (v *values) merge(d *values) {
	for f, c := range d.counts {
		if c.Set {
			v.counts[f] = c
		}
	}
	if d.model != "" && d.model != v.model {
		v.model = d.model
	}
	v.errBody = v.errBody || d.errBody
	for i, s := range d.errs {
		if s != "" {
			v.errs[i] = s
		}
	}
	v.done = v.done || d.done
	v.invalid += d.invalid
}

// parseCount accepts integers from 0 to the int64 maximum (what Envoy's
// counters take), also written as 11.0 or 1.1e1 up to 2^53.
func parseCount(raw []byte) (uint64, bool) {
	// Plain counts of up to 18 digits cannot overflow; strconv would cost
	// an allocation for each.
	if len(raw) > 0 && len(raw) <= 18 {
		var n uint64
		for _, c := range raw {
			if c < '0' || c > '9' {
				goto general
			}
			n = n*10 + uint64(c-'0')
		}
		return n, true
	}
general:
	if n, err := strconv.ParseUint(string(raw), 10, 64); err == nil {
		return n, n <= math.MaxInt64
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f < 0 || f > 1<<53 || f != float64(uint64(f)) {
		return 0, false
	}
	return uint64(f), true
}

func (v *values) param(f Field) string { return v.params[f-ParamTemperature] }

func (v *values) setErr(f Field, s string) { v.errs[f-ErrorCode] = s }
func (v *values) errOf(f Field) string     { return v.errs[f-ErrorCode] }
