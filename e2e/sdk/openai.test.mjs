// The openai SDK through the proxy: chat completions JSON and streamed
// (with stream_options.include_usage), the Responses API JSON and streamed.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { Calls, collect } from './checks.mjs';
import { sdkVersion, Stack, writeReport } from './stack.mjs';

const stack = new Stack('openai');
const calls = new Calls('openai', sdkVersion('openai'));
let client;

before(async () => {
  await stack.start();
  client = new OpenAI({ baseURL: `${stack.base}/v1`, apiKey: 'sk-e2e', maxRetries: 0 });
});

after(async () => {
  await stack.stop();
  writeReport('openai', calls.rows);
});

const messages = [{ role: 'user', content: 'Say hello.' }];

test('chat completions, JSON', async () => {
  const got = await stack.call('chat JSON', () => client.chat.completions.create({ model: 'gpt-4o-mini', messages }));
  const exp = calls.check('chat JSON', got, 'openai/chat_json');
  const r = got.result;
  assert.ok(r.choices[0].message.content.length > 0);
  assert.equal(r.usage.prompt_tokens, exp.prompt_tokens);
  assert.equal(r.usage.completion_tokens, exp.completion_tokens);
});

test('chat completions, streamed with include_usage', async () => {
  const got = await stack.call('chat stream', async () =>
    collect(
      await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages,
        stream: true,
        stream_options: { include_usage: true },
      }),
    ),
  );
  const exp = calls.check('chat stream', got, 'openai/chat_stream_usage');
  const text = got.result.map((c) => c.choices[0]?.delta?.content ?? '').join('');
  assert.ok(text.length > 0);
  const usage = got.result.at(-1).usage;
  assert.equal(usage.prompt_tokens, exp.prompt_tokens);
  assert.equal(usage.completion_tokens, exp.completion_tokens);
});

test('responses, JSON', async () => {
  const got = await stack.call('responses JSON', () => client.responses.create({ model: 'gpt-5', input: 'Say hello.' }));
  const exp = calls.check('responses JSON', got, 'openai_responses/json');
  assert.ok(got.result.output_text.length > 0);
  assert.equal(got.result.usage.input_tokens, exp.prompt_tokens);
  assert.equal(got.result.usage.output_tokens, exp.completion_tokens);
});

test('responses, streamed', async () => {
  const got = await stack.call('responses stream', async () =>
    collect(await client.responses.create({ model: 'gpt-4.1', input: 'Say hello.', stream: true })),
  );
  const exp = calls.check('responses stream', got, 'openai_responses/stream');
  const done = got.result.find((e) => e.type === 'response.completed');
  assert.ok(done, 'no response.completed event');
  const text = got.result.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta).join('');
  assert.ok(text.length > 0);
  assert.equal(done.response.usage.input_tokens, exp.prompt_tokens);
  assert.equal(done.response.usage.output_tokens, exp.completion_tokens);
});

test('counters: /stats/prometheus sums each model', async () => {
  await calls.checkCounters(stack);
});
