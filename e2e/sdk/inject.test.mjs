// inject_stream_usage: the openai SDK streams a chat completion WITHOUT
// asking for usage; the plugin asks the upstream for it, counts it, and
// takes the usage chunk out again, so the client sees none.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { Calls, collect } from './checks.mjs';
import { sdkVersion, Stack, writeReport } from './stack.mjs';

const stack = new Stack('inject');
const calls = new Calls('openai', sdkVersion('openai'));
let client;

before(async () => {
  await stack.start({ inject_stream_usage: true });
  client = new OpenAI({ baseURL: `${stack.base}/v1`, apiKey: 'sk-e2e', maxRetries: 0 });
});

after(async () => {
  await stack.stop();
  writeReport('inject', calls.rows);
});

test('chat completions, streamed without include_usage', async () => {
  const got = await stack.call('chat stream, usage injected', async () =>
    collect(
      await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'Say hello.' }],
        stream: true,
      }),
    ),
  );
  assert.equal(JSON.parse(got.tap.body).stream_options, undefined, 'the SDK asked for usage itself');
  // The upstream answered with usage (the recorded include_usage stream),
  // and the proxy counted it...
  calls.check('chat stream, usage injected', got, 'openai/chat_stream_usage');
  // ...asking for it uncompressed, since it edits the stream.
  assert.equal(got.log.upstream_accept_encoding, 'identity');
  // The client saw the answer and no usage chunk.
  const chunks = got.result;
  assert.ok(chunks.length > 0);
  assert.ok(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('').length > 0);
  for (const c of chunks) {
    assert.ok(c.usage == null, `a chunk carried usage: ${JSON.stringify(c.usage)}`);
    assert.ok(c.choices.length > 0, 'a chunk with no choices (the usage chunk) reached the client');
  }
  assert.doesNotMatch(got.tap.responseBody, /"usage":\s*\{/);
  assert.match(got.tap.responseBody, /data: \[DONE\]/);
});

test('counters: /stats/prometheus sums each model', async () => {
  await calls.checkCounters(stack);
});
