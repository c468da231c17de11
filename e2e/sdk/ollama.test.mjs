// The ollama SDK (native /api) through the proxy: chat streamed, generate
// JSON. Skipped when the package did not install.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Calls, collect } from './checks.mjs';
import { sdkVersion, Stack, writeReport } from './stack.mjs';

const sdk = await import('ollama').catch((e) => e);
const skip = sdk instanceof Error ? `ollama is not installed (${sdk.code ?? sdk.message})` : false;

const stack = new Stack('ollama');
const calls = skip ? null : new Calls('ollama', sdkVersion('ollama'));
let client;

before(async () => {
  if (skip) return;
  await stack.start();
  client = new sdk.Ollama({ host: stack.base });
});

after(async () => {
  if (skip) return;
  await stack.stop();
  writeReport('ollama', calls.rows);
});

// The recorded chat stream's request leaves stream out (Ollama streams by
// default), so the mock, which matches on "stream": true, does not pick it
// for the SDK's request, which says it; the x-mock-case header does.
test('chat, streamed (x-mock-case ollama/chat_stream)', { skip }, async () => {
  const picked = new sdk.Ollama({ host: stack.base, headers: { 'x-mock-case': 'ollama/chat_stream' } });
  const got = await stack.call('chat stream', async () =>
    collect(await picked.chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'Say hello.' }], stream: true })),
  );
  const exp = calls.check('chat stream', got, 'ollama/chat_stream');
  assert.ok(got.result.map((p) => p.message.content).join('').length > 0);
  const last = got.result.at(-1);
  assert.equal(last.done, true);
  assert.equal(last.prompt_eval_count, exp.prompt_tokens);
  assert.equal(last.eval_count, exp.completion_tokens);
});

test('generate, JSON', { skip }, async () => {
  const got = await stack.call('generate JSON', () =>
    client.generate({ model: 'llama3.2', prompt: 'Say hello.', stream: false }),
  );
  const exp = calls.check('generate JSON', got, 'ollama/generate_json');
  assert.ok(got.result.response.length > 0);
  assert.equal(got.result.prompt_eval_count, exp.prompt_tokens);
  assert.equal(got.result.eval_count, exp.completion_tokens);
});

test('counters: /stats/prometheus sums each model', { skip }, async () => {
  await calls.checkCounters(stack);
});
