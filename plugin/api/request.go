package api

import "github.com/llmproxy/llmproxy/plugin/jsonscan"

// Request reads the top-level model of a request body as it streams by.
type Request struct {
	scan   jsonscan.Scanner
	v      values
	fam    *Family
	active bool
}

// Start begins reading a request of the given family, and its parameters
// if asked.
func (r *Request) Start(f *Family, params bool) {
	r.v = values{}
	r.fam = f
	tree := f.request
	if params {
		tree = f.requestParams
	}
	r.scan.Reset(tree, &r.v)
	r.active = true
}

// Feed reads the next body chunk. It stops once the document is over or
// broken; the rest of the body is not looked at.
func (r *Request) Feed(p []byte) {
	if r.active {
		r.scan.Feed(p)
		if r.scan.Done() || r.scan.Err() != "" {
			r.active = false
		}
	}
}

// Model is the request model read so far; the top-level key may still come
// later, and a later duplicate key wins as in most JSON decoders.
func (r *Request) Model() string { return r.v.model }

// Complete reports whether the whole top-level document was read.
func (r *Request) Complete() bool { return r.scan.Done() }

// Err describes why the body could not be read as JSON, or is empty.
func (r *Request) Err() string { return r.scan.Err() }

// Active reports whether more body is worth reading.
func (r *Request) Active() bool { return r.active }
