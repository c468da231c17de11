// Package usage holds the canonical record of one LLM call: what every API
// family's fields are mapped onto before anything is published.
package usage

// Count is a token count that knows whether the provider reported it:
// absent is not zero.
type Count struct {
	N   uint64
	Set bool
}

// Put records a reported value; the last report wins, because providers
// that repeat usage in a stream repeat it cumulatively.
func (c *Count) Put(n uint64) { c.N, c.Set = n, true }

// Outcome says whether the usage of a call could be read, and if not, why.
type Outcome uint8

// Outcomes, as published in the usage_status filter state and metric tag.
const (
	Reported   Outcome = iota + 1 // usage read from the response
	Missing                       // the response carried no usage
	Unreadable                    // encoding, framing or syntax stopped the reading
	Error                         // non-2xx status or an error body or event
	Incomplete                    // the stream ended before its end: a reset, or no response
)

func (o Outcome) String() string {
	switch o {
	case Reported:
		return "reported"
	case Missing:
		return "missing"
	case Unreadable:
		return "unreadable"
	case Error:
		return "error"
	case Incomplete:
		return "incomplete"
	}
	return "unknown"
}

// Record is one call's canonical usage.
type Record struct {
	API           string
	Stream        bool
	RequestModel  string
	ResponseModel string

	Prompt        Count // all input tokens, cached included
	Completion    Count // all output tokens, reasoning included
	Total         Count
	CachedInput   Count
	CacheCreation Count
	Reasoning     Count

	// Milliseconds from the request headers to the first response-body
	// byte, and to the end of the response.
	TimeToFirstByte Count
	Duration        Count

	Outcome Outcome
	// ErrorType says why a call whose Outcome is Error failed: one of a
	// small fixed set (see api.ErrorTypes).
	ErrorType string
}

// HasTokens reports whether the call reported any token count.
func (r *Record) HasTokens() bool { return r.Prompt.Set || r.Completion.Set }
