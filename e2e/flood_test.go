package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/llmproxy/llmproxy/e2e/host"
	"github.com/llmproxy/llmproxy/e2e/replay"
)

// floodExchange is a call whose Host header and model a client chose, as
// any client behind envoy.yaml's llm_upstream cluster or Istio's
// PassthroughCluster can.
func floodExchange(authority, model string) host.Exchange {
	body := `{"model":"` + model + `","messages":[{"role":"user","content":"hi"}]}`
	return host.Exchange{
		ClusterName: "llm_upstream",
		RequestHeaders: [][2]string{{":method", "POST"}, {":path", "/v1/chat/completions"},
			{":authority", authority}, {":scheme", "http"}, {"content-type", "application/json"}},
		RequestBody:     [][]byte{[]byte(body)},
		ResponseHeaders: [][2]string{{":status", "200"}, {"content-type", "application/json"}},
		ResponseBody: [][]byte{[]byte(`{"id":"c","object":"chat.completion","model":"` + model +
			`","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}`)},
	}
}

// TestLabelFlood: 10,000 calls, each to a new host with a new model, stay
// within the label caps and max_metrics; Envoy would never free what they
// defined.
func TestLabelFlood(t *testing.T) {
	t.Run("asm", func(t *testing.T) { testLabelFlood(t, "") })
	t.Run("asm and gen_ai", func(t *testing.T) { testLabelFlood(t, `{"metrics": ["asm", "gen_ai"]}`) })
}

func testLabelFlood(t *testing.T, config string) {
	const calls = 10000
	opts := replay.Options(envoy)
	if config != "" {
		opts.PluginConfig = []byte(config)
	}
	h := newHost(t, opts)
	for i := range calls {
		do2(t, h, floodExchange(fmt.Sprintf("h%05d.example", i), fmt.Sprintf("m%05d", i)))
	}
	defined, series, labels := floodFigures(t, h)
	t.Logf("%d calls: %d stats defined, %d Prometheus series, %d destinations, %d models",
		calls, defined, series, len(labels["llmproxy_destination_service"]), len(labels["llmproxy_model"]))
	if n := len(labels["llmproxy_destination_service"]); n > 101 {
		t.Errorf("%d destination values, want at most 100 and other", n)
	}
	for _, l := range []string{"llmproxy_model", "gen_ai_request_model", "gen_ai_response_model", "server_address"} {
		if n := len(labels[l]); n > 101 {
			t.Errorf("%d %s values, want at most 100 and other", n, l)
		}
	}
	if defined > 5000 {
		t.Errorf("%d stats defined, over max_metrics", defined)
	}
	for _, name := range []string{"llmproxy_destination_label_overflow_total", "llmproxy_model_label_overflow_total"} {
		if v, _ := h.Counter("wasmcustom."+name, nil); v != calls-100 {
			t.Errorf("%s = %d, want %d", name, v, calls-100)
		}
	}
}

// TestMetricsBound: however the labels combine, a VM defines at most
// max_metrics stats; new tag sets past it count under other/other.
func TestMetricsBound(t *testing.T) {
	const maxMetrics = 200
	opts := replay.Options(envoy)
	opts.PluginConfig = []byte(fmt.Sprintf(`{"max_metrics": %d}`, maxMetrics))
	h := newHost(t, opts)
	for d := range 40 {
		for m := range 40 {
			do2(t, h, floodExchange(fmt.Sprintf("h%d.example", d), fmt.Sprintf("m%d", m)))
		}
	}
	defined, series, _ := floodFigures(t, h)
	t.Logf("1600 tag sets offered: %d stats defined, %d Prometheus series", defined, series)
	if defined > maxMetrics {
		t.Fatalf("%d stats defined, max_metrics is %d", defined, maxMetrics)
	}
	other, _ := h.Counter("wasmcustom.llmproxy_requests_total", map[string]string{
		"llmproxy_source_workload": "sleep", "llmproxy_source_workload_namespace": "default",
		"llmproxy_destination_service": "other", "llmproxy_model": "other", "llmproxy_outcome": "reported"})
	overflow, _ := h.Counter("wasmcustom.llmproxy_series_overflow_total", nil)
	if other == 0 || other != overflow {
		t.Fatalf("other/other counted %d calls, series overflow %d", other, overflow)
	}
}

// floodFigures counts the plugin's stats, the Prometheus series they
// expose (histogram buckets included) and each label's values.
func floodFigures(t *testing.T, h *host.Host) (defined, series int, labels map[string]map[string]bool) {
	t.Helper()
	for _, s := range h.Stats() {
		if strings.HasPrefix(s.Name, "wasmcustom.") {
			defined++
		}
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(h.Prometheus()))
	if err != nil {
		t.Fatal(err)
	}
	labels = map[string]map[string]bool{}
	for _, f := range families {
		for _, m := range f.Metric {
			series++
			if b := m.GetHistogram().GetBucket(); len(b) > 0 {
				series += len(b) + 1 // buckets, +Inf, sum and count
			}
			for _, l := range m.Label {
				if labels[l.GetName()] == nil {
					labels[l.GetName()] = map[string]bool{}
				}
				labels[l.GetName()][l.GetValue()] = true
			}
		}
	}
	return defined, series, labels
}
