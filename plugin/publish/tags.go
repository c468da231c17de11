package publish

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Tags are the labels of one counter series.
type Tags struct {
	SourceWorkload     string
	SourceNamespace    string
	DestinationService string
	Model              string
	Consumer           string // only with consumer_label
}

// Tag is one more "|name=value" segment of a stat name.
type Tag struct{ Name, Value string }

// StatName writes a metric name with its tags as "|tag=value" segments,
// then any further tags. Values must already be clean (see CleanTag).
func StatName(metric string, t Tags, more ...Tag) string {
	tags := [...]Tag{
		{TagSourceWorkload, t.SourceWorkload},
		{TagSourceNamespace, t.SourceNamespace},
		{TagDestinationService, t.DestinationService},
		{TagModel, t.Model},
		{TagConsumer, t.Consumer},
	}
	return statName(metric, tags[:], TagConsumer, more)
}

// statName writes metric, then each tag, leaving optional out when empty,
// then more.
func statName(metric string, tags []Tag, optional string, more []Tag) string {
	var b strings.Builder
	b.Grow(len(metric) + 160)
	b.WriteString(metric)
	for _, list := range [...][]Tag{tags, more} {
		for _, kv := range list {
			if kv.Value == "" && kv.Name == optional {
				continue
			}
			b.WriteByte('|')
			b.WriteString(kv.Name)
			b.WriteByte('=')
			b.WriteString(kv.Value)
		}
	}
	return b.String()
}

// RequestsStatName is MetricRequests' name for one outcome and, for
// errors, one error type.
func RequestsStatName(t Tags, outcome, errorType string) string {
	if errorType == "" {
		return StatName(MetricRequests, t, Tag{TagOutcome, outcome})
	}
	return StatName(MetricRequests, t, Tag{TagOutcome, outcome}, Tag{TagErrorType, errorType})
}

// PlainStatName is the name of a metric without the workload, destination
// and model tags: the rewrite results and the overflow counters.
func PlainStatName(metric string, more ...Tag) string { return statName(metric, nil, "", more) }

// CleanTag makes a value safe inside a stat name: '|' would end the tag
// early and control bytes would corrupt the exposition, so both become '_';
// it is cut to max bytes, and empty becomes Unknown.
func CleanTag(v string, max int) string {
	v = clean(v, max)
	if v == "" {
		return Unknown
	}
	return v
}

// CleanValue cuts a filter-state value to max bytes and replaces control
// bytes and invalid UTF-8, because access-log lines are parsed downstream.
func CleanValue(v string, max int) string { return clean(v, max) }

func clean(v string, max int) string {
	if !utf8.ValidString(v) {
		v = strings.ToValidUTF8(v, "_")
	}
	if len(v) > max {
		for max > 0 && !utf8.RuneStart(v[max]) {
			max--
		}
		v = v[:max]
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c == 0x7f || c == '|' {
			return strings.Map(func(r rune) rune {
				if r < 0x20 || r == 0x7f || r == '|' {
					return '_'
				}
				return r
			}, v)
		}
	}
	return v
}

// DestinationService is the host part of an Istio upstream cluster name
// ("outbound|443||dashscope.aliyuncs.com"), else the request authority
// without its port.
func DestinationService(cluster, authority string) string {
	if parts := strings.Split(cluster, "|"); len(parts) == 4 && parts[3] != "" {
		return parts[3]
	}
	return hostOnly(authority)
}

func hostOnly(authority string) string {
	if strings.HasPrefix(authority, "[") { // [v6]:port
		if i := strings.IndexByte(authority, ']'); i > 0 {
			return authority[:i+1]
		}
		return authority
	}
	if i := strings.LastIndexByte(authority, ':'); i >= 0 {
		if _, err := strconv.Atoi(authority[i+1:]); err == nil {
			return authority[:i]
		}
	}
	return authority
}

// Tokens formats a count for filter state.
func Tokens(n uint64) string { return strconv.FormatUint(n, 10) }
