// The @anthropic-ai/sdk SDK through the proxy: messages JSON, and messages
// streamed through the stream helper and as raw events.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { Calls, collect } from './checks.mjs';
import { sdkVersion, Stack, writeReport } from './stack.mjs';

const stack = new Stack('anthropic');
const calls = new Calls('@anthropic-ai/sdk', sdkVersion('@anthropic-ai/sdk'));
let client;

before(async () => {
  await stack.start();
  client = new Anthropic({ baseURL: stack.base, apiKey: 'sk-ant-e2e', maxRetries: 0 });
});

after(async () => {
  await stack.stop();
  writeReport('anthropic', calls.rows);
});

const request = { model: 'claude-sonnet-4-5', max_tokens: 1024, messages: [{ role: 'user', content: 'Say hello.' }] };

// promptOf is all input as the plugin counts it: Anthropic's input_tokens
// leaves the cache out.
const promptOf = (u) => u.input_tokens + (u.cache_read_input_tokens ?? 0) + (u.cache_creation_input_tokens ?? 0);

test('messages, JSON', async () => {
  const got = await stack.call('messages JSON', () => client.messages.create(request));
  const exp = calls.check('messages JSON', got, 'anthropic/json');
  const m = got.result;
  assert.ok(m.content.some((b) => b.type === 'text' && b.text.length > 0));
  assert.equal(promptOf(m.usage), exp.prompt_tokens);
  assert.equal(m.usage.output_tokens, exp.completion_tokens);
});

test('messages, streamed (messages.stream)', async () => {
  const got = await stack.call('messages stream', () => client.messages.stream(request).finalMessage());
  const exp = calls.check('messages stream', got, 'anthropic/stream_two_deltas');
  const m = got.result;
  assert.ok(m.content.length > 0);
  assert.equal(promptOf(m.usage), exp.prompt_tokens);
  assert.equal(m.usage.output_tokens, exp.completion_tokens);
});

// Streamed again, without the helper, answered by the other recorded
// stream: anthropic/stream was recorded from the beta endpoint
// (/v1/messages?beta=true), which this SDK no longer calls, so the path
// alone would not pick it; the mock's x-mock-case header does.
test('messages, streamed (raw events, x-mock-case anthropic/stream)', async () => {
  const got = await stack.call('messages stream raw', async () =>
    collect(await client.messages.create({ ...request, stream: true }, { headers: { 'x-mock-case': 'anthropic/stream' } })),
  );
  const exp = calls.check('messages stream raw', got, 'anthropic/stream');
  const text = got.result
    .filter((e) => e.type === 'content_block_delta' && e.delta.type === 'text_delta')
    .map((e) => e.delta.text)
    .join('');
  assert.ok(text.length > 0);
  const start = got.result.find((e) => e.type === 'message_start').message.usage;
  const delta = got.result.findLast((e) => e.type === 'message_delta').usage;
  assert.equal(promptOf({ ...start, ...delta }), exp.prompt_tokens);
  assert.equal(delta.output_tokens, exp.completion_tokens);
});

test('counters: /stats/prometheus sums each model', async () => {
  await calls.checkCounters(stack);
});
