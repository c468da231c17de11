// Package publish is the plugin's public vocabulary: the filter-state keys
// and the metric names and tags that operators build access logs,
// Istio metric dimensions and dashboards on. It follows Alibaba Cloud
// Service Mesh's llmproxy contract; never rename anything here.
package publish

// Filter-state keys, each a single property path element. Envoy stores them
// as "wasm." + key, so access logs read
// %FILTER_STATE(wasm.asm.llmproxy.request_model:PLAIN)% and Istio reads
// filter_state["wasm.asm.llmproxy.request_model"].
const (
	KeyRequestModel     = "asm.llmproxy.request_model"
	KeyPromptTokens     = "asm.llmproxy.request_prompt_tokens"
	KeyCompletionTokens = "asm.llmproxy.request_completion_tokens"
)

// Filter-state keys beyond ASM's. Values are decimal strings, except
// response_model, api (the API family), stream ("true"/"false") and
// usage_status (reported, missing, unreadable, error).
const (
	KeyTotalTokens     = "asm.llmproxy.request_total_tokens"
	KeyResponseModel   = "asm.llmproxy.response_model"
	KeyCachedTokens    = "asm.llmproxy.cached_tokens"
	KeyReasoningTokens = "asm.llmproxy.reasoning_tokens"
	KeyAPI             = "asm.llmproxy.api"
	KeyStream          = "asm.llmproxy.stream"
	KeyTTFT            = "asm.llmproxy.ttft_ms"
	KeyUsageStatus     = "asm.llmproxy.usage_status"
	// KeyErrorType says why a call whose usage_status is error failed:
	// rate_limited, quota, context_length, overloaded, auth,
	// invalid_request, server_error or other.
	KeyErrorType = "asm.llmproxy.error_type"
	// KeyCost is what the call cost by the configured price table, a
	// decimal with up to 6 decimals, in KeyCostCurrency.
	KeyCost         = "asm.llmproxy.cost"
	KeyCostCurrency = "asm.llmproxy.cost_currency"
	// KeyConsumer is who made the call: a request header's value, or the
	// fingerprint of the client's API key.
	KeyConsumer = "asm.llmproxy.consumer"
)

// Request parameter keys (request_parameters), as the client sent them:
// numbers as written, stream as true or false, tools as a count.
const (
	KeyTemperature = "asm.llmproxy.request_temperature"
	KeyTopP        = "asm.llmproxy.request_top_p"
	KeyMaxTokens   = "asm.llmproxy.request_max_tokens"
	KeyReqStream   = "asm.llmproxy.request_stream"
	KeySeed        = "asm.llmproxy.request_seed"
	KeyN           = "asm.llmproxy.request_n"
	KeyTools       = "asm.llmproxy.request_tools"
)

// Counter names. Each counter is defined once per tag set with the tags
// written into its name as "|tag=value" segments; the bootstrap
// stats_config.stats_tags regexes (see StatsTags) cut them out again as
// Prometheus labels, and Envoy's wasmcustom namespace drops the "envoy_"
// prefix, giving e.g.
//
//	asm_llm_proxy_prompt_tokens{llmproxy_source_workload="sleep",llmproxy_source_workload_namespace="default",llmproxy_destination_service="dashscope.aliyuncs.com",llmproxy_model="qwen-turbo"} 11
const (
	MetricPromptTokens     = "asm_llm_proxy_prompt_tokens"
	MetricCompletionTokens = "asm_llm_proxy_completion_tokens"
)

// Metrics beyond ASM's, tagged like the ASM counters. Requests carry one
// more tag, the outcome, and for errors a second, the error type; the
// histograms are in milliseconds.
const (
	MetricRequests        = "llmproxy_requests_total"
	MetricCachedTokens    = "llmproxy_cached_tokens_total"
	MetricReasoningTokens = "llmproxy_reasoning_tokens_total"
	MetricTTFT            = "llmproxy_time_to_first_token_milliseconds"
	MetricDuration        = "llmproxy_request_duration_milliseconds"
	// MetricCostMicros counts millionths of a currency unit (Envoy counters
	// are integers), tagged like the token counters and by currency.
	MetricCostMicros = "llmproxy_cost_micros_total"
	// MetricCostUnpriced counts calls with usage but no price in the table.
	MetricCostUnpriced = "llmproxy_cost_unpriced_total"
)

// Counters of the plugin's own decisions, tagged only as they say.
const (
	// MetricRewrites counts request bodies the routing or usage injection
	// edited (llmproxy_rewrite="applied") or had to leave alone
	// ("too_large", "not_json").
	MetricRewrites = "llmproxy_request_rewrites_total"
	// MetricModelOverflow counts calls whose model was counted as "other"
	// because max_model_labels distinct models had been seen.
	MetricModelOverflow = "llmproxy_model_label_overflow_total"
	// MetricDestinationOverflow counts calls whose destination was counted
	// as "other" because max_destination_labels destinations had been seen.
	MetricDestinationOverflow = "llmproxy_destination_label_overflow_total"
	// MetricSeriesOverflow counts calls counted under destination and model
	// "other" because a new tag set would have passed max_metrics.
	MetricSeriesOverflow = "llmproxy_series_overflow_total"
	// MetricConsumerOverflow counts calls whose consumer was counted as
	// "other" because max_consumer_labels consumers had been seen.
	MetricConsumerOverflow = "llmproxy_consumer_label_overflow_total"
)

// Tag names, in the order they appear in a stat name.
const (
	TagSourceWorkload     = "llmproxy_source_workload"
	TagSourceNamespace    = "llmproxy_source_workload_namespace"
	TagDestinationService = "llmproxy_destination_service"
	TagModel              = "llmproxy_model"
	TagConsumer           = "llmproxy_consumer" // with consumer_label only
	TagOutcome            = "llmproxy_outcome"  // only on MetricRequests
	TagErrorType          = "llmproxy_error_type"
	TagCurrency           = "llmproxy_currency" // only on MetricCostMicros
	TagRewrite            = "llmproxy_rewrite"  // only on MetricRewrites
)

// StatsTag is one entry of Envoy's stats_config.stats_tags.
type StatsTag struct {
	Name  string `json:"tag_name"`
	Regex string `json:"regex"`
}

// StatsTags are the regexes an operator puts in the bootstrap. The first
// group is cut from the stat name, the second is the label value. A value
// never holds '|', so "[^|]*" cannot swallow the next tag.
var StatsTags = []StatsTag{
	{TagSourceWorkload, `(\|llmproxy_source_workload=([^|]*))`},
	{TagSourceNamespace, `(\|llmproxy_source_workload_namespace=([^|]*))`},
	{TagDestinationService, `(\|llmproxy_destination_service=([^|]*))`},
	{TagModel, `(\|llmproxy_model=([^|]*))`},
	{TagConsumer, `(\|llmproxy_consumer=([^|]*))`},
	{TagOutcome, `(\|llmproxy_outcome=([^|]*))`},
	{TagErrorType, `(\|llmproxy_error_type=([^|]*))`},
	{TagCurrency, `(\|llmproxy_currency=([^|]*))`},
	{TagRewrite, `(\|llmproxy_rewrite=([^|]*))`},
	{GenAITokenType, `(\|gen_ai_token_type=([^|]*))`},
	{GenAIProvider, `(\|gen_ai_provider_name=([^|]*))`},
	{GenAIOperation, `(\|gen_ai_operation_name=([^|]*))`},
	{GenAIRequestModel, `(\|gen_ai_request_model=([^|]*))`},
	{GenAIResponseModel, `(\|gen_ai_response_model=([^|]*))`},
	{GenAIServerAddress, `(\|server_address=([^|]*))`},
	{GenAIErrorType, `(\|error_type=([^|]*))`},
}

// Unknown stands in for a tag value the proxy could not tell.
const Unknown = "unknown"
