// The @google/genai SDK (Gemini API) through the proxy: generateContent and
// generateContentStream. Skipped when the package did not install.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Calls } from './checks.mjs';
import { sdkVersion, Stack, writeReport } from './stack.mjs';

const sdk = await import('@google/genai').catch((e) => e);
const skip = sdk instanceof Error ? `@google/genai is not installed (${sdk.code ?? sdk.message})` : false;

const stack = new Stack('google');
const calls = skip ? null : new Calls('@google/genai', sdkVersion('@google/genai'));
let ai;

before(async () => {
  if (skip) return;
  await stack.start();
  ai = new sdk.GoogleGenAI({ apiKey: 'gemini-e2e', httpOptions: { baseUrl: stack.base } });
});

after(async () => {
  if (skip) return;
  await stack.stop();
  writeReport('google', calls.rows);
});

// Gemini counts thoughts apart from the answer; the plugin's completion
// tokens are both.
const completionOf = (u) => (u.candidatesTokenCount ?? 0) + (u.thoughtsTokenCount ?? 0);

test('generateContent', { skip }, async () => {
  const got = await stack.call('generateContent', () =>
    ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'Say hello.' }),
  );
  const exp = calls.check('generateContent', got, 'gemini/json');
  assert.ok(got.result.text.length > 0);
  assert.equal(got.result.usageMetadata.promptTokenCount, exp.prompt_tokens);
  assert.equal(completionOf(got.result.usageMetadata), exp.completion_tokens);
});

test('generateContentStream', { skip }, async () => {
  const got = await stack.call('generateContentStream', async () => {
    const out = [];
    for await (const c of await ai.models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'Say hello.' })) {
      out.push(c);
    }
    return out;
  });
  const exp = calls.check('generateContentStream', got, 'gemini/stream_sse');
  assert.ok(got.result.map((c) => c.text ?? '').join('').length > 0);
  const usage = got.result.at(-1).usageMetadata; // cumulative: the last one counts
  assert.equal(usage.promptTokenCount, exp.prompt_tokens);
  assert.equal(completionOf(usage), exp.completion_tokens);
});

test('counters: /stats/prometheus sums each model', { skip }, async () => {
  await calls.checkCounters(stack);
});
