/**
 * OpenAI through keyleash with the official `openai` SDK (apiKey = vault key, baseURL =
 * keyleash/openai/v1) against the scripted model server: chat completions, responses and
 * embeddings, stream and not; the worst case reserved before the call and the real `usage`
 * settled after it, to the micro-USD; the usage chunk keyleash asked for kept from a client that
 * did not; a client that hangs up mid-stream still settled exactly; unknown models and
 * unboundable requests refused before anything reaches OpenAI.
 */
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { auditOf, eventually, openaiSdk, spendMicros, usageMicros, useOpenAIStack, worstCaseMicros } from './harness.ts';

const stack = useOpenAIStack();

const MODEL = 'gpt-4o-mini';

async function openaiKey(policy: Record<string, unknown> = {}) {
  return stack.api.issue({
    vendor: 'openai',
    daily_usd_cap: 1,
    allowed_endpoints: ['POST /v1/chat/completions', 'POST /v1/responses', 'POST /v1/embeddings', 'GET /v1/models'],
    expires_in: '1h',
    ...policy,
  });
}

/** The one model request the fake received since `before`, and the body bytes keyleash sent. */
function lastUpstream(before: number) {
  const sent = stack.model.requests.slice(before);
  expect(sent).toHaveLength(1);
  return sent[0]!;
}

describe('chat completions', () => {
  it('reserves body bytes + the output bound at the model price, then settles to the usage OpenAI reports (cached input at its own price)', async () => {
    const key = await openaiKey();
    const usage = { input: 1200, output: 80, cachedInput: 200 };
    stack.model.push([{ text: 'hello', usage }]);
    const before = stack.model.requests.length;
    const answer = await openaiSdk(stack, key.vault_key).chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'say hello' }], max_completion_tokens: 100 });
    expect(answer.choices[0]!.message.content).toBe('hello');
    expect(answer.usage).toMatchObject({ prompt_tokens: 1200, completion_tokens: 80 });
    const upstream = lastUpstream(before);
    // the real secret upstream, never the vault key; the body untouched (it had a bound)
    expect(upstream.headers.authorization).toBe(`Bearer ${stack.openaiSecret}`);
    expect(JSON.stringify(upstream.headers)).not.toContain(key.vault_key);
    expect(upstream.body.max_completion_tokens).toBe(100);

    const [row] = await auditOf(stack, key.id);
    expect(row).toMatchObject({ vendor: 'openai', decision: 'allowed', status: 200, path: '/v1/chat/completions' });
    expect(row.reserved_micros).toBe(worstCaseMicros(MODEL, Buffer.byteLength(JSON.stringify(upstream.body)), 100));
    expect(row.settled_micros).toBe(usageMicros(MODEL, usage));
    // (1000 x $0.15 + 200 x $0.075 + 80 x $0.60) / 1M = $0.000213
    expect(row.settled_micros).toBe(213);
    expect(await spendMicros(stack, key.id)).toBe(213);
  });

  it('writes the policy default bound into a capped call that sets none (and reserves for it); an uncapped key is forwarded untouched', async () => {
    const key = await openaiKey({ openai: { default_max_output_tokens: 256 } });
    stack.model.push([{ text: 'bounded' }]);
    let before = stack.model.requests.length;
    await openaiSdk(stack, key.vault_key).chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] });
    const capped = lastUpstream(before);
    expect(capped.body.max_completion_tokens).toBe(256);
    const [row] = await auditOf(stack, key.id);
    expect(row.reserved_micros).toBe(worstCaseMicros(MODEL, Buffer.byteLength(JSON.stringify(capped.body)), 256));

    const uncapped = await openaiKey({ daily_usd_cap: null });
    stack.model.push([{ text: 'free to run long' }]);
    before = stack.model.requests.length;
    await openaiSdk(stack, uncapped.vault_key).chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] });
    expect(lastUpstream(before).body.max_completion_tokens).toBeUndefined();
    expect((await auditOf(stack, uncapped.id))[0].settled_micros).toBe(usageMicros(MODEL, { input: 10, output: 5 }));
  });

  it('streams: asks OpenAI for the usage chunk, keeps it from a client that did not ask, and settles to it when the stream ends', async () => {
    const key = await openaiKey();
    const usage = { input: 30, output: 45 };
    stack.model.push([{ text: 'streamed words', usage }]);
    const before = stack.model.requests.length;
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    const stream = await openaiSdk(stack, key.vault_key).chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'stream' }], stream: true, max_tokens: 50 });
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('streamed words');
    expect(chunks.every((c) => c.choices.length > 0 && !c.usage)).toBe(true);
    expect(lastUpstream(before).body.stream_options).toEqual({ include_usage: true });
    const [row] = await auditOf(stack, key.id);
    expect(row.settled_micros).toBe(usageMicros(MODEL, usage));
    expect(row.reserved_micros).toBeGreaterThan(row.settled_micros);
  });

  it('passes the usage chunk through to a client that asked for it', async () => {
    const key = await openaiKey();
    stack.model.push([{ text: 'with usage', usage: { input: 50, output: 7 } }]);
    const stream = await openaiSdk(stack, key.vault_key).chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
      stream_options: { include_usage: true },
      max_completion_tokens: 20,
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.at(-1)!.usage).toMatchObject({ prompt_tokens: 50, completion_tokens: 7 });
    expect((await auditOf(stack, key.id))[0].settled_micros).toBe(usageMicros(MODEL, { input: 50, output: 7 }));
  });

  it('settles exactly when the client hangs up mid-stream: keyleash reads the stream to its end', async () => {
    const key = await openaiKey();
    let release!: () => void;
    const hold = new Promise<void>((resolve) => (release = resolve));
    const usage = { input: 77, output: 400 };
    stack.model.push([{ text: 'a long answer the client will not wait for', usage, streamHold: hold }]);
    const before = stack.model.requests.length;
    const abort = new AbortController();
    const stream = await openaiSdk(stack, key.vault_key).chat.completions.create(
      { model: MODEL, messages: [{ role: 'user', content: 'long' }], stream: true, max_completion_tokens: 1000 },
      { signal: abort.signal },
    );
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next(); // the first chunk arrived; the rest is held upstream
    abort.abort();
    expect(await auditOf(stack, key.id)).toHaveLength(0); // nothing settled while the stream is open
    release();
    const row = await eventually(async () => (await auditOf(stack, key.id))[0]);
    expect(stack.model.requests[before]!.streamEnded).toBe(true);
    expect(row.settled_micros).toBe(usageMicros(MODEL, usage));
    expect(await spendMicros(stack, key.id)).toBe(usageMicros(MODEL, usage));
  });
});

describe('responses and embeddings', () => {
  it('responses: writes max_output_tokens when absent, settles non-stream and stream to the usage', async () => {
    const key = await openaiKey();
    stack.model.push([{ text: 'one', usage: { input: 11, output: 3 } }, { text: 'two', usage: { input: 900, output: 600, cachedInput: 100 } }]);
    const client = openaiSdk(stack, key.vault_key);
    const before = stack.model.requests.length;
    expect((await client.responses.create({ model: 'gpt-4.1', input: 'first' })).output_text).toBe('one');
    expect(stack.model.requests[before]!.body.max_output_tokens).toBe(4096);
    const streamed = client.responses.stream({ model: 'gpt-4.1', input: 'second', max_output_tokens: 700 });
    for await (const _ of streamed) void _;
    expect((await streamed.finalResponse()).output_text).toBe('two');
    const rows = await auditOf(stack, key.id);
    expect(rows.map((r) => r.settled_micros)).toEqual([usageMicros('gpt-4.1', { input: 11, output: 3 }), usageMicros('gpt-4.1', { input: 900, output: 600, cachedInput: 100 })]);
  });

  it('embeddings: settles input tokens at the embedding price', async () => {
    const key = await openaiKey();
    const before = stack.model.requests.length;
    const answer = await openaiSdk(stack, key.vault_key).embeddings.create({ model: 'text-embedding-3-small', input: ['a first text to embed', 'another'] });
    expect(answer.data).toHaveLength(2);
    expect(answer.data[0]!.embedding).toEqual([0.25, -0.5, 1]);
    const tokens = lastUpstream(before).usage!.input;
    const [row] = await auditOf(stack, key.id);
    expect(row.settled_micros).toBe(usageMicros('text-embedding-3-small', { input: tokens, output: 0 }));
  });
});

describe('refusals, in OpenAI error shape, that reach no upstream', () => {
  async function refusedBy(call: Promise<unknown>) {
    const error = await call.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OpenAI.APIError);
    return error as InstanceType<typeof OpenAI.APIError>;
  }

  it('an unknown model under a capped key: keyleash_unknown_model, naming the model', async () => {
    const key = await openaiKey();
    const before = stack.model.requests.length;
    const error = await refusedBy(openaiSdk(stack, key.vault_key).chat.completions.create({ model: 'gpt-imaginary-9', messages: [{ role: 'user', content: 'x' }] }));
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(error.code).toBe('keyleash_unknown_model');
    expect(error.message).toContain('gpt-imaginary-9');
    expect(stack.model.requests.length).toBe(before);
  });

  it('a request whose input no byte count bounds (a stored conversation) under a cap: keyleash_unbounded_request', async () => {
    const key = await openaiKey();
    const before = stack.model.requests.length;
    const error = await refusedBy(openaiSdk(stack, key.vault_key).responses.create({ model: MODEL, input: 'go on', previous_response_id: 'resp_123' }));
    expect(error.code).toBe('keyleash_unbounded_request');
    expect(error.message).toContain('previous_response_id');
    expect(stack.model.requests.length).toBe(before);
  });

  it('a worst case above what the cap has left: keyleash_daily_cap_reached, nothing sent', async () => {
    const key = await openaiKey({ daily_usd_cap: 0.001 });
    const before = stack.model.requests.length;
    const error = await refusedBy(openaiSdk(stack, key.vault_key).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }], max_completion_tokens: 10_000 }));
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(error.code).toBe('keyleash_daily_cap_reached');
    expect(stack.model.requests.length).toBe(before);
  });

  it('a body that names the model twice reaches OpenAI as the reading keyleash priced (the dearer model is not smuggled past the price)', async () => {
    const key = await openaiKey();
    stack.model.push([{ text: 'x', usage: { input: 20, output: 10 } }]);
    const before = stack.model.requests.length;
    const raw = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}],"max_completion_tokens":50,"model":"o1"}';
    const answer = await fetch(`${stack.keyleash.url}/openai/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key.vault_key}`, 'content-type': 'application/json' }, body: raw });
    expect(answer.status).toBe(200);
    const sent = stack.model.requests[before]!;
    expect(sent.model).toBe('o1');
    // what OpenAI received is the one reading, not the two-faced original
    expect(Number(sent.headers['content-length'])).toBe(Buffer.byteLength(JSON.stringify(JSON.parse(raw))));
    expect((await auditOf(stack, key.id))[0].settled_micros).toBe(usageMicros('o1', { input: 20, output: 10 }));
  });

  it('a Stripe key cannot call OpenAI', async () => {
    const key = await stack.api.issue({ vendor: 'stripe', daily_usd_cap: 5, allowed_endpoints: ['POST /v1/payment_intents'], expires_in: '1h' });
    const error = await refusedBy(openaiSdk(stack, key.vault_key).chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] }));
    expect(error.code).toBe('keyleash_vendor_mismatch');
  });

  it('model listing is free and the secret never shows in keyleash output', async () => {
    const key = await openaiKey();
    const models = await openaiSdk(stack, key.vault_key).models.list();
    expect(models.data[0]!.id).toBe('fake-model');
    expect((await auditOf(stack, key.id))[0].settled_micros).toBe(0);
    expect(stack.keyleash.output()).not.toContain(stack.openaiSecret);
  });
});
