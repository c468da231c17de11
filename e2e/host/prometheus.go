package host

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// defaultBuckets are Envoy's histogram buckets
// (source/common/stats/histogram_impl.cc HistogramSettingsImpl::defaultBuckets).
var defaultBuckets = []float64{0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000,
	10000, 30000, 60000, 300000, 600000, 1800000, 3600000}

// Prometheus renders the stats like Envoy's /stats/prometheus
// (source/server/admin/prometheus_stats.cc): counters, then gauges, then
// histograms; groups sorted by tag-extracted name, members by full name.
// Custom-namespace stats lose the namespace and get no "envoy_" prefix.
func (h *Host) Prometheus() string {
	stats := h.Stats()
	var b strings.Builder
	for _, typ := range kindNames {
		groups := map[string][]Stat{}
		for _, s := range stats {
			if s.Type == typ {
				groups[s.TagExtractedName] = append(groups[s.TagExtractedName], s)
			}
		}
		names := make([]string, 0, len(groups))
		for n := range groups {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			name, ok := promMetricName(n)
			if !ok {
				continue
			}
			fmt.Fprintf(&b, "# TYPE %s %s\n", name, typ)
			for _, s := range groups[n] { // already sorted by full name
				if typ == "histogram" {
					writeHistogram(&b, name, s)
				} else {
					fmt.Fprintf(&b, "%s{%s} %d\n", name, promTags(s.Tags), s.Value)
				}
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

func promMetricName(extracted string) (string, bool) {
	if rest, ok := strings.CutPrefix(extracted, customNamespace+"."); ok {
		n := sanitizeName(rest)
		if n == "" || n[0] >= '0' && n[0] <= '9' {
			return "", false // Envoy drops names Prometheus cannot accept
		}
		return n, true
	}
	return "envoy_" + sanitizeName(extracted), true
}

// sanitizeName replaces every char outside [a-zA-Z0-9_] with '_'.
func sanitizeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	return string(b)
}

func promTags(tags [][2]string) string {
	parts := make([]string, 0, len(tags))
	for _, t := range tags {
		parts = append(parts, fmt.Sprintf(`%s="%s"`, sanitizeName(t[0]), escapeLabel(t[1])))
	}
	return strings.Join(parts, ",")
}

func escapeLabel(v string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v)
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// writeHistogram emits cumulative buckets, +Inf, _sum and _count. Envoy's
// circllhist makes bucket edges approximate; here samples are exact.
func writeHistogram(b *strings.Builder, name string, s Stat) {
	tags := promTags(s.Tags)
	bucketTags := tags
	if bucketTags != "" {
		bucketTags += ","
	}
	edges := s.Edges
	if edges == nil {
		edges = defaultBuckets
	}
	for i, edge := range edges {
		var n uint64
		if i < len(s.Buckets) {
			n = s.Buckets[i]
		}
		fmt.Fprintf(b, "%s_bucket{%sle=\"%s\"} %d\n", name, bucketTags, fmtFloat(edge), n)
	}
	fmt.Fprintf(b, "%s_bucket{%sle=\"+Inf\"} %d\n", name, bucketTags, s.Value)
	fmt.Fprintf(b, "%s_sum{%s} %d\n", name, tags, s.Sum)
	fmt.Fprintf(b, "%s_count{%s} %d\n", name, tags, s.Value)
}

// HistogramBuckets is one stats_config.histogram_bucket_settings entry: the
// buckets of the histograms whose name starts with Prefix (or is Exact).
type HistogramBuckets struct {
	Prefix, Exact string
	Buckets       []float64
}

// bucketEdges are a histogram's buckets: the first matching setting, else
// Envoy's defaults (source/common/stats/histogram_impl.cc
// HistogramSettingsImpl::buckets, matched on the full stat name).
func (h *Host) bucketEdges(name string) []float64 {
	for _, hb := range h.opts.HistogramBuckets {
		if hb.Exact != "" && name == hb.Exact || hb.Prefix != "" && strings.HasPrefix(name, hb.Prefix) {
			return hb.Buckets
		}
	}
	return defaultBuckets
}
