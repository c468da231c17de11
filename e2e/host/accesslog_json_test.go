package host

import "testing"

func TestAccessLogJSON(t *testing.T) {
	ex := Exchange{ClusterName: "c", RequestHeaders: [][2]string{{":method", "POST"}}}
	res := &Result{ResponseCode: 200, FilterState: map[string]string{"wasm.asm.llmproxy.request_model": "qwen-turbo"}}
	got, err := AccessLogJSON(map[string]string{
		"model":   "%FILTER_STATE(wasm.asm.llmproxy.request_model:PLAIN)%",
		"prompt":  "%FILTER_STATE(wasm.asm.llmproxy.request_prompt_tokens:PLAIN)%",
		"code":    "%RESPONSE_CODE%",
		"mixed":   "m=%FILTER_STATE(wasm.asm.llmproxy.request_prompt_tokens:PLAIN)%",
		"method":  "%REQ(:METHOD)%",
		"literal": "x",
	}, ex, res)
	want := `{"code":200,"literal":"x","method":"POST","mixed":"m=-","model":"qwen-turbo","prompt":null}`
	if err != nil || got != want {
		t.Fatalf("got %s (%v)\nwant %s", got, err, want)
	}
}
