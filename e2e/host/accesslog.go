package host

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

var operatorRe = regexp.MustCompile(`^%([A-Z][A-Z0-9_]*)(?:\(([^)]*)\))?(?::([0-9]+))?%`)

// AccessLog renders an Envoy access-log format string for a finished
// exchange, with the filter state as it stood before proxy_on_log. Supported: %FILTER_STATE(key[:PLAIN|:TYPED])%, %REQ(h[?alt])%,
// %RESP(h[?alt])%, %RESPONSE_CODE%, %UPSTREAM_CLUSTER%, %PROTOCOL%, %START_TIME%, each with
// an optional :N length limit. Missing values render as "-" like Envoy.
func AccessLog(format string, ex Exchange, res *Result) (string, error) {
	if res == nil {
		res = &Result{}
	}
	var b strings.Builder
	for i := 0; i < len(format); {
		if format[i] != '%' {
			b.WriteByte(format[i])
			i++
			continue
		}
		m := operatorRe.FindStringSubmatch(format[i:])
		if m == nil {
			return "", fmt.Errorf("access log: bad operator at %q", format[i:])
		}
		val, err := logOperator(m[1], m[2], ex, res)
		if err != nil {
			return "", err
		}
		if m[3] != "" && val != "-" {
			if n, _ := strconv.Atoi(m[3]); n < len(val) {
				val = val[:n]
			}
		}
		b.WriteString(val)
		i += len(m[0])
	}
	return b.String(), nil
}

func logOperator(op, arg string, ex Exchange, res *Result) (string, error) {
	switch op {
	case "FILTER_STATE":
		key, mode, _ := strings.Cut(arg, ":")
		state := res.LoggedFilterState
		if state == nil { // a Result not made by Do
			state = res.FilterState
		}
		v, ok := state[key]
		if !ok {
			return "-", nil
		}
		switch mode {
		case "PLAIN":
			return v, nil
		case "", "TYPED":
			// CelState::serializeAsProto packs the bytes into an Any(BytesValue).
			return `{"@type":"type.googleapis.com/google.protobuf.BytesValue","value":"` +
				base64.StdEncoding.EncodeToString([]byte(v)) + `"}`, nil
		}
		return "", fmt.Errorf("access log: FILTER_STATE format %q", mode)
	case "REQ":
		hs := res.ForwardedRequestHeaders
		if hs == nil {
			hs = ex.RequestHeaders
		}
		return headerOperator(hs, arg), nil
	case "RESP":
		return headerOperator(res.ForwardedResponseHeaders, arg), nil
	case "RESPONSE_CODE":
		return strconv.Itoa(res.ResponseCode), nil
	case "UPSTREAM_CLUSTER":
		switch {
		case res.UpstreamCluster != "":
			return res.UpstreamCluster, nil
		case ex.ClusterName != "":
			return ex.ClusterName, nil
		}
		return "-", nil
	case "PROTOCOL":
		return "HTTP/1.1", nil
	case "START_TIME":
		if arg != "" {
			return "", fmt.Errorf("access log: START_TIME with a format is not supported")
		}
		// Envoy's default: %Y-%m-%dT%H:%M:%E3SZ in UTC.
		return res.StartTime.UTC().Format("2006-01-02T15:04:05.000Z"), nil
	}
	return "", fmt.Errorf("access log: unsupported operator %%%s%%", op)
}

func headerOperator(hs [][2]string, arg string) string {
	m := newHeaderMap(hs)
	main, alt, _ := strings.Cut(arg, "?")
	if v, ok := m.get(main); ok {
		return v
	}
	if alt != "" {
		if v, ok := m.get(alt); ok {
			return v
		}
	}
	return "-"
}

// numericOperators render as JSON numbers in json_format.
var numericOperators = map[string]bool{"RESPONSE_CODE": true}

// AccessLogJSON renders an Envoy json_format access log: keys sorted (Envoy
// always sorts them), a value that is one command operator typed (null when
// the operator has no value, a number for numeric operators), any other
// value a string with "-" for missing parts, as in text formats.
func AccessLogJSON(format map[string]string, ex Exchange, res *Result) (string, error) {
	keys := make([]string, 0, len(format))
	for k := range format {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		v, err := jsonValue(format[k], ex, res)
		if err != nil {
			return "", fmt.Errorf("access log %s: %v", k, err)
		}
		if i > 0 {
			b.WriteByte(',')
		}
		kq, _ := json.Marshal(k)
		b.Write(kq)
		b.WriteByte(':')
		b.WriteString(v)
	}
	b.WriteByte('}')
	return b.String(), nil
}

func jsonValue(f string, ex Exchange, res *Result) (string, error) {
	s, err := AccessLog(f, ex, res)
	if err != nil {
		return "", err
	}
	if m := operatorRe.FindStringSubmatch(f); m != nil && len(m[0]) == len(f) {
		switch {
		case s == "-":
			return "null", nil
		case numericOperators[m[1]]:
			if _, err := strconv.Atoi(s); err == nil {
				return s, nil
			}
		}
	}
	q, _ := json.Marshal(s)
	return string(q), nil
}
