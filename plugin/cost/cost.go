// Package cost prices a call's usage from the operator's price table, in
// exact integer arithmetic: rates are read from their decimal text, never
// through floating point, and a call's cost is rounded once, to the
// nearest millionth of the currency unit. It makes no host calls.
package cost

import (
	"errors"
	"math/bits"
	"strconv"
	"strings"

	"github.com/llmproxy/llmproxy/plugin/usage"
)

// Rate is a price per million tokens, kept in millionths of the currency
// unit per million tokens, which is 1e-12 units a token.
type Rate struct {
	picos uint64 // per token
	set   bool
}

// maxRate bounds a rate at one million units per million tokens, so that
// no product can overflow 128 bits.
const maxRate = 1_000_000

// UnmarshalJSON reads a plain decimal with at most 6 decimals.
func (r *Rate) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		*r = Rate{}
		return nil
	}
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || len(frac) > 6 || dot && frac == "" || !within(whole, '0', '9') || !within(frac, '0', '9') {
		return errors.New("a rate is a plain decimal number with at most 6 decimals, per million tokens")
	}
	w, err := strconv.ParseUint(whole, 10, 64)
	if err != nil || w > maxRate {
		return errors.New("a rate is at most 1000000 per million tokens")
	}
	f, _ := strconv.ParseUint("0"+frac, 10, 64)
	for i := len(frac); i < 6; i++ {
		f *= 10
	}
	*r = Rate{picos: w*1_000_000 + f, set: true}
	return nil
}

// within reports whether every byte of s is in lo..hi.
func within(s string, lo, hi byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < lo || s[i] > hi {
			return false
		}
	}
	return true
}

// Set reports whether the rate was given.
func (r Rate) Set() bool { return r.set }

func (r Rate) or(fallback Rate) Rate {
	if r.set {
		return r
	}
	return fallback
}

// Price is one entry of the table.
type Price struct {
	// Model is an exact model name, or a prefix ending in '*'.
	Model string `json:"model"`
	// API and Destination narrow the entry to one API family or one
	// destination service; empty matches any.
	API         string `json:"api"`
	Destination string `json:"destination"`

	Input       Rate `json:"input"`
	Output      Rate `json:"output"`
	CachedInput Rate `json:"cached_input"` // cache reads; default: input
	CacheWrite  Rate `json:"cache_write"`  // cache writes; default: input
	Reasoning   Rate `json:"reasoning"`    // only where it differs from output

	Currency string `json:"currency"` // default USD

	// Source and Copied record where and when the figures were taken; the
	// plugin does not read them.
	Source string `json:"source"`
	Copied string `json:"copied"`
}

// Check validates an entry and sets its defaults; field names the entry
// in error messages.
func (p *Price) Check(field string) error {
	bad := func(sub, why string) error {
		return errors.New("configuration field \"" + field + sub + "\": " + why)
	}
	switch {
	case p.Model == "" || p.Model == "*":
		return bad(".model", "required: a model name, or a prefix ending in '*'")
	case strings.Contains(strings.TrimSuffix(p.Model, "*"), "*"):
		return bad(".model", "'*' may only end the name")
	case !p.Input.set:
		return bad(".input", "required")
	case !p.Output.set:
		return bad(".output", "required")
	}
	if p.Currency == "" {
		p.Currency = "USD"
	}
	if len(p.Currency) > 8 || !within(p.Currency, 'A', 'Z') {
		return bad(".currency", "an ISO 4217 code such as USD or CNY")
	}
	return nil
}

// Table is the operator's prices.
type Table struct {
	prices []Price
}

// NewTable takes checked entries.
func NewTable(prices []Price) *Table { return &Table{prices: prices} }

// Empty reports whether there is nothing to price with.
func (t *Table) Empty() bool { return t == nil || len(t.prices) == 0 }

// Currencies are the distinct currencies of the table.
func (t *Table) Currencies() []string {
	var out []string
	for _, p := range t.prices {
		seen := false
		for _, c := range out {
			seen = seen || c == p.Currency
		}
		if !seen {
			out = append(out, p.Currency)
		}
	}
	return out
}

// Lookup finds the most specific entry for a model: an exact name before
// the longest prefix, then one that names the API or the destination
// before one that does not. It returns nil if none matches.
func (t *Table) Lookup(model, api, destination string) *Price {
	if t == nil || model == "" {
		return nil
	}
	var best *Price
	bestScore := -1
	for i := range t.prices {
		p := &t.prices[i]
		score := 0
		switch prefix, ok := strings.CutSuffix(p.Model, "*"); {
		case !ok && p.Model == model:
			score = 1 << 20
		case ok && strings.HasPrefix(model, prefix):
			score = len(prefix) << 2
		default:
			continue
		}
		if p.API != "" {
			if p.API != api {
				continue
			}
			score += 2
		}
		if p.Destination != "" {
			if !strings.EqualFold(p.Destination, destination) {
				continue
			}
			score++
		}
		if score > bestScore {
			best, bestScore = p, score
		}
	}
	return best
}

// Micros is what the usage costs at this price, in millionths of the
// currency unit, rounded half up. Input counts hold cached reads and cache
// writes (usage.Record's canonical form), so those are charged at their
// own rates and only the rest at the input rate; reasoning is inside the
// output count and charged apart only if the entry prices it.
func (p *Price) Micros(r *usage.Record) uint64 {
	cached, written := r.CachedInput.N, r.CacheCreation.N
	reasoning := uint64(0)
	if p.Reasoning.set {
		reasoning = min(r.Reasoning.N, r.Completion.N)
	}
	var acc acc128
	acc.add(sub(r.Prompt.N, cached+written), p.Input)
	acc.add(min(cached, r.Prompt.N), p.CachedInput.or(p.Input))
	acc.add(min(written, sub(r.Prompt.N, cached)), p.CacheWrite.or(p.Input))
	acc.add(r.Completion.N-reasoning, p.Output)
	acc.add(reasoning, p.Reasoning)
	return acc.micros()
}

func sub(a, b uint64) uint64 {
	if b > a {
		return 0
	}
	return a - b
}

// acc128 sums tokens × picos in 128 bits.
type acc128 struct{ hi, lo uint64 }

func (a *acc128) add(tokens uint64, r Rate) {
	hi, lo := bits.Mul64(tokens, r.picos)
	var carry uint64
	a.lo, carry = bits.Add64(a.lo, lo, 0)
	a.hi, _ = bits.Add64(a.hi, hi, carry)
}

// micros divides picos by a million, rounding half up, saturating where
// the quotient would not fit (more than 1.8e19 micro-units).
func (a acc128) micros() uint64 {
	const million = 1_000_000
	lo, carry := bits.Add64(a.lo, million/2, 0)
	hi := a.hi + carry
	if hi >= million {
		return 1<<64 - 1
	}
	q, _ := bits.Div64(hi, lo, million)
	return q
}

// Format writes micro-units as a decimal with up to 6 decimals.
func Format(micros uint64) string {
	whole := strconv.FormatUint(micros/1_000_000, 10)
	frac := micros % 1_000_000
	if frac == 0 {
		return whole
	}
	f := strconv.FormatUint(frac+1_000_000, 10)[1:] // zero-padded to 6
	return whole + "." + strings.TrimRight(f, "0")
}
