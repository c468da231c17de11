// The checks every SDK test makes on a call: the proxy's access-log line
// and the Prometheus counters against the answering case's expect block
// (testdata/cases/<case>/case.json), and the Accept-Encoding the mock got.
import assert from 'node:assert/strict';
import { describeRequest, expectOf, sum } from './stack.mjs';

// readable are the content codings the plugin decodes (plugin/decode
// Supported); it narrows a client's Accept-Encoding to these.
const readable = new Set(['identity', 'gzip', 'x-gzip', 'deflate']);

// Calls collects one SDK test file's calls for its report and counters.
export class Calls {
  constructor(sdk, version) {
    this.sdk = sdk;
    this.version = version;
    this.rows = [];
    this.expects = [];
  }

  // check asserts what the proxy logged for a call answered by wantCase and
  // returns that case's expect block for the SDK-side checks.
  check(label, got, wantCase) {
    assert.equal(got.caseName, wantCase, `${label}: answered by ${got.caseName}, want ${wantCase}`);
    const exp = expectOf(wantCase);
    const log = got.log;
    assert.equal(log.response_code, 200);
    assert.equal(log.api, exp.api);
    assert.equal(log.request_model, exp.request_model);
    assert.equal(log.stream, String(exp.stream));
    assert.equal(log.usage_status, exp.outcome);
    assert.equal(log.request_prompt_tokens, String(exp.prompt_tokens), `${label}: prompt tokens`);
    assert.equal(log.request_completion_tokens, String(exp.completion_tokens), `${label}: completion tokens`);
    if (exp.total_tokens !== undefined) assert.equal(log.request_total_tokens, String(exp.total_tokens));
    if (exp.response_model !== undefined) assert.equal(log.response_model, exp.response_model);
    for (const coding of log.upstream_accept_encoding.split(',')) {
      const name = coding.split(';')[0].trim().toLowerCase();
      if (name === '-' || name === '') continue; // the SDK sent none
      assert.ok(readable.has(name), `${label}: the mock was offered ${name}, which the plugin cannot read`);
    }
    this.rows.push(describeRequest(this.sdk, this.version, label, got));
    this.expects.push(exp);
    return exp;
  }

  // checkCounters asserts that /stats/prometheus holds, for each request
  // model, the sum of the tokens its calls' cases report.
  async checkCounters(stack) {
    const samples = await stack.metrics();
    const want = new Map();
    for (const e of this.expects) {
      const w = want.get(e.request_model) ?? { prompt: 0, completion: 0 };
      w.prompt += e.prompt_tokens;
      w.completion += e.completion_tokens;
      want.set(e.request_model, w);
    }
    assert.ok(want.size > 0, 'no calls were checked');
    for (const [model, w] of want) {
      const match = { llmproxy_model: model };
      assert.equal(sum(samples, 'asm_llm_proxy_prompt_tokens', match), w.prompt, `prompt tokens of ${model}`);
      assert.equal(sum(samples, 'asm_llm_proxy_completion_tokens', match), w.completion, `completion tokens of ${model}`);
    }
    return want;
  }
}

// collect drains an SDK stream into an array.
export async function collect(stream) {
  const out = [];
  for await (const x of stream) out.push(x);
  return out;
}
