package host

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// customNamespace is where Envoy puts proxy_define_metric stats
// (Wasm::custom_stat_namespace_).
const customNamespace = "wasmcustom"

// Stat is one metric as Envoy's stats store would hold it.
type Stat struct {
	Name             string      // full name, e.g. "wasmcustom.foo|model=x"
	TagExtractedName string      // name with tag text removed, e.g. "wasmcustom.foo"
	Tags             [][2]string // in extraction order
	Type             string      // counter, gauge or histogram
	Value            uint64      // counter/gauge value; histogram sample count
	Samples          []uint64    // histogram samples, the first MaxSamples
	Sum              uint64      // histogram: sum of the samples
	Buckets          []uint64    // histogram: samples <= each edge of Edges
	Edges            []float64   // histogram: Envoy's default buckets, or the first matching HistogramBuckets
}

// MaxSamples bounds the samples a histogram keeps, so a long run does not
// grow the host; Sum, Buckets and Value count them all.
const MaxSamples = 1024

type metricKind uint32

const (
	kindCounter metricKind = iota
	kindGauge
	kindHistogram
)

var kindNames = []string{"counter", "gauge", "histogram"}

type tagExtractor struct {
	name, prefix string
	re           *regexp.Regexp
}

type statsStore struct {
	extractors []tagExtractor
	byName     map[string]*Stat // key: kind + full name
	order      []*Stat
	ids        map[uint32]*Stat
	nextID     [3]uint32
}

func newStatsStore(tags []StatsTag) (*statsStore, error) {
	st := &statsStore{byName: map[string]*Stat{}, ids: map[uint32]*Stat{}, nextID: [3]uint32{0, 1, 2}}
	var noPrefix, withPrefix []tagExtractor
	for _, t := range tags {
		if t.Name == "" || t.Regex == "" {
			return nil, fmt.Errorf("stats tag needs a name and a regex: %+v", t)
		}
		re, err := regexp.Compile(t.Regex)
		if err != nil {
			return nil, fmt.Errorf("stats tag %s: %w", t.Name, err)
		}
		e := tagExtractor{name: t.Name, prefix: regexPrefix(t.Regex), re: re}
		if e.prefix == "" {
			noPrefix = append(noPrefix, e)
		} else {
			withPrefix = append(withPrefix, e)
		}
	}
	// Envoy runs prefix-less extractors first, then those keyed by the
	// name's first token (TagProducerImpl::forEachExtractorMatching).
	st.extractors = append(noPrefix, withPrefix...)
	return st, nil
}

// regexPrefix mirrors TagExtractorImplBase::extractRegexPrefix: "^word\." or
// "^word$" makes "word" a first-token filter.
func regexPrefix(re string) string {
	if !strings.HasPrefix(re, "^") {
		return ""
	}
	for i := 1; i < len(re); i++ {
		c := re[i]
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if i > 1 {
			last := i == len(re)-1
			rest := re[i:]
			if (!last && (strings.HasPrefix(rest, `\.`) || strings.HasPrefix(rest, `(?=\.)`))) || (last && c == '$') {
				return re[1:i]
			}
		}
		break
	}
	return ""
}

// extract applies every tag regex to the original name (as Envoy's
// TagProducerImpl::produceTags does), then removes all first capture groups.
// Per envoy source/common/stats/tag_extractor_impl.cc: group 1 is removed,
// group 2 (or group 1 when there is no second group) is the value.
func (st *statsStore) extract(name string) (string, [][2]string) {
	var tags [][2]string
	remove := make([]bool, len(name))
	first, _, _ := strings.Cut(name, ".")
	seen := map[string]bool{}
	for _, e := range st.extractors {
		if e.prefix != "" && (e.prefix != first || !strings.Contains(name, ".")) {
			continue
		}
		if seen[e.name] {
			continue
		}
		m := e.re.FindStringSubmatchIndex(name)
		if m == nil || len(m) < 4 || m[2] < 0 {
			continue
		}
		val := name[m[2]:m[3]]
		if len(m) >= 6 && m[4] >= 0 {
			val = name[m[4]:m[5]]
		}
		for i := m[2]; i < m[3]; i++ {
			remove[i] = true
		}
		tags = append(tags, [2]string{e.name, val})
		seen[e.name] = true
	}
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		if !remove[i] {
			b.WriteByte(name[i])
		}
	}
	return b.String(), tags
}

func (st *statsStore) define(kind metricKind, name string) uint32 {
	full := customNamespace + "." + name
	key := kindNames[kind] + ":" + full
	s, ok := st.byName[key]
	if !ok {
		extracted, tags := st.extract(full)
		s = &Stat{Name: full, TagExtractedName: extracted, Tags: tags, Type: kindNames[kind]}
		st.byName[key] = s
		st.order = append(st.order, s)
	}
	// Envoy ids carry the type in the low two bits (Wasm::kMetricTypeMask).
	st.nextID[kind] += 4
	id := st.nextID[kind]
	st.ids[id] = s
	return id
}

func (h *Host) exportMetrics(b wazero.HostModuleBuilder) {
	h.export(b, "proxy_define_metric", params(4), func(_ context.Context, s []uint64) uint32 {
		kind := metricKind(uint32(s[0]))
		if kind > kindHistogram {
			return statusBadArgument
		}
		name, ok := h.readString(uint32(s[1]), uint32(s[2]))
		if !ok {
			return statusInvalidMemoryAccess
		}
		return okIf(h.writeU32(uint32(s[3]), h.stats.define(kind, name)))
	})
	i32i64 := []api.ValueType{api.ValueTypeI32, api.ValueTypeI64}
	h.export(b, "proxy_increment_metric", i32i64, func(_ context.Context, s []uint64) uint32 {
		m, kind, st := h.metric(uint32(s[0]))
		if m == nil {
			return st
		}
		off := int64(s[1])
		switch kind {
		case kindCounter:
			if off <= 0 { // Envoy refuses non-positive counter increments
				return statusBadArgument
			}
			m.Value += uint64(off)
		case kindGauge:
			if off < 0 && uint64(-off) > m.Value {
				h.violation(false, "gauge %s decremented below zero", m.Name)
			}
			m.Value += uint64(off)
		default:
			return statusBadArgument
		}
		return statusOK
	})
	h.export(b, "proxy_record_metric", i32i64, func(_ context.Context, s []uint64) uint32 {
		m, kind, st := h.metric(uint32(s[0]))
		if m == nil {
			return st
		}
		switch kind {
		case kindCounter: // Envoy adds for counters, sets for gauges
			m.Value += s[1]
		case kindGauge:
			m.Value = s[1]
		default:
			if len(m.Samples) < MaxSamples {
				m.Samples = append(m.Samples, s[1])
			}
			if m.Buckets == nil {
				m.Edges = h.bucketEdges(m.Name)
				m.Buckets = make([]uint64, len(m.Edges))
			}
			for i, edge := range m.Edges {
				if float64(s[1]) <= edge {
					m.Buckets[i]++
				}
			}
			m.Sum += s[1]
			m.Value++
		}
		return statusOK
	})
	h.export(b, "proxy_get_metric", params(2), func(_ context.Context, s []uint64) uint32 {
		m, kind, st := h.metric(uint32(s[0]))
		if m == nil {
			return st
		}
		if kind == kindHistogram {
			return statusBadArgument
		}
		return okIf(h.writeU64(uint32(s[1]), m.Value))
	})
}

func (h *Host) metric(id uint32) (*Stat, metricKind, uint32) {
	kind := metricKind(id & 3)
	if kind > kindHistogram {
		return nil, kind, statusBadArgument
	}
	m, ok := h.stats.ids[id]
	if !ok {
		return nil, kind, statusNotFound
	}
	return m, kind, statusOK
}

// Stats returns a copy of every defined metric, sorted by name.
func (h *Host) Stats() []Stat {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Stat, 0, len(h.stats.order))
	for _, s := range h.stats.order {
		c := *s
		c.Tags = append([][2]string(nil), s.Tags...)
		c.Samples = append([]uint64(nil), s.Samples...)
		c.Buckets = append([]uint64(nil), s.Buckets...)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Counter finds a counter by tag-extracted name (with or without the
// "wasmcustom." namespace) and its exact tag set.
func (h *Host) Counter(tagExtractedName string, tags map[string]string) (uint64, bool) {
	for _, s := range h.Stats() {
		if s.Type != "counter" || (s.TagExtractedName != tagExtractedName &&
			s.TagExtractedName != customNamespace+"."+tagExtractedName) || len(s.Tags) != len(tags) {
			continue
		}
		match := true
		for _, t := range s.Tags {
			if v, ok := tags[t[0]]; !ok || v != t[1] {
				match = false
			}
		}
		if match {
			return s.Value, true
		}
	}
	return 0, false
}
