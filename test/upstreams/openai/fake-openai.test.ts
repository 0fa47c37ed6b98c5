import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from './server.ts';

let fake: FakeOpenAI | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const chargeTool: OpenAI.ChatCompletionTool = {
  type: 'function',
  function: { name: 'charge', description: 'charge', parameters: { type: 'object', properties: { amount: { type: 'integer' } }, required: ['amount'] } },
};

describe('fake OpenAI-compatible model server, driven by the official openai client', () => {
  it('plays scripted chat turns in order: a tool call, then a final answer that reads the tool result', async () => {
    fake = await startFakeOpenAI({
      apiKey: 'sk-fake',
      script: [
        { toolCalls: [{ name: 'charge', arguments: { amount: 500 }, id: 'call_a' }] },
        (request) => ({ text: `done: ${request.newToolResults.map((r) => r.output).join(',')}` }),
      ],
    });
    const client = new OpenAI({ apiKey: 'sk-fake', baseURL: fake.url, maxRetries: 0 });
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'charge 5 dollars' }];
    const first = await client.chat.completions.create({ model: 'm', messages, tools: [chargeTool] });
    const call = first.choices[0]!.message.tool_calls![0]!;
    expect(first.choices[0]!.finish_reason).toBe('tool_calls');
    expect(call).toMatchObject({ id: 'call_a', type: 'function', function: { name: 'charge', arguments: '{"amount":500}' } });
    messages.push(first.choices[0]!.message, { role: 'tool', tool_call_id: call.id, content: 'pi_123 succeeded' });
    const second = await client.chat.completions.create({ model: 'm', messages, tools: [chargeTool] });
    expect(second.choices[0]!.message.content).toBe('done: pi_123 succeeded');
    expect(fake.requests[1]!.toolResults).toEqual([{ callId: 'call_a', output: 'pi_123 succeeded' }]);
    expect(fake.requests[0]!.tools).toEqual(['charge']);
    expect(fake.requests[1]!.transcript).toContain('charge 5 dollars');
  });

  it('streams chat completions as split deltas that the client reassembles, with a usage chunk on request', async () => {
    fake = await startFakeOpenAI({ script: [{ toolCalls: [{ name: 'charge', arguments: { amount: 1234 } }] }, { text: 'all charged, thank you' }] });
    const client = new OpenAI({ apiKey: 'x', baseURL: fake.url, maxRetries: 0 });
    const stream = client.chat.completions.stream({ model: 'm', messages: [{ role: 'user', content: 'hi' }], tools: [chargeTool], stream_options: { include_usage: true } });
    const completion = await stream.finalChatCompletion();
    expect((completion.choices[0]!.message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall).function).toEqual({ name: 'charge', arguments: '{"amount":1234}' });
    expect(completion.usage?.total_tokens).toBeGreaterThan(0);
    const chunks: string[] = [];
    for await (const chunk of await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true })) {
      chunks.push(chunk.choices[0]?.delta.content ?? '');
    }
    expect(chunks.join('')).toBe('all charged, thank you');
    expect(fake.requests.every((r) => r.stream)).toBe(true);
  });

  it('answers the Responses API, non-stream and stream, and reads function_call_output items back', async () => {
    fake = await startFakeOpenAI({
      script: [
        { toolCalls: [{ name: 'charge', arguments: { amount: 700 }, id: 'call_r' }] },
        (request) => ({ text: `the tool said ${request.newToolResults[0]?.output}` }),
        { toolCalls: [{ name: 'charge', arguments: { amount: 800 } }], text: 'charging again' },
      ],
    });
    const client = new OpenAI({ apiKey: 'x', baseURL: fake.url, maxRetries: 0 });
    const tools: OpenAI.Responses.FunctionTool[] = [{ type: 'function', name: 'charge', parameters: { type: 'object', properties: {} }, strict: false }];
    const first = await client.responses.create({ model: 'm', input: 'charge 7', tools });
    const call = first.output.find((item) => item.type === 'function_call');
    expect(call).toMatchObject({ call_id: 'call_r', name: 'charge', arguments: '{"amount":700}' });
    const second = await client.responses.create({
      model: 'm',
      instructions: 'be brief',
      input: [{ type: 'function_call', call_id: 'call_r', name: 'charge', arguments: '{}' }, { type: 'function_call_output', call_id: 'call_r', output: 'pi_9 ok' }],
      tools,
    });
    expect(second.output_text).toBe('the tool said pi_9 ok');
    expect(fake.requests[1]!.transcript).toContain('be brief');

    const events: string[] = [];
    const stream = client.responses.stream({ model: 'm', input: 'again', tools });
    for await (const event of stream) events.push(event.type);
    const final = await stream.finalResponse();
    expect(events[0]).toBe('response.created');
    expect(events.at(-1)).toBe('response.completed');
    expect(events).toContain('response.output_text.delta');
    expect(events).toContain('response.function_call_arguments.delta');
    expect(final.output_text).toBe('charging again');
    expect(final.output.find((item) => item.type === 'function_call')).toMatchObject({ name: 'charge', arguments: '{"amount":800}' });
  });

  it('keeps one queue per model name so several agents can share a server, and reports an unscripted request as a 500 that is not retried', async () => {
    fake = await startFakeOpenAI({ script: { billing: [{ text: 'billing here' }], refunds: [{ text: 'refunds here' }] } });
    const client = new OpenAI({ apiKey: 'x', baseURL: fake.url });
    const ask = (model: string) => client.chat.completions.create({ model, messages: [{ role: 'user', content: 'who?' }] });
    expect((await ask('refunds')).choices[0]!.message.content).toBe('refunds here');
    expect((await ask('billing')).choices[0]!.message.content).toBe('billing here');
    const error = await ask('billing').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect(fake.requestsFor('billing')).toHaveLength(2); // no retry of the scripted 500
    expect(fake.requests.at(-1)!.unscripted).toBe(true);
    expect(fake.remaining()).toEqual({ billing: 0, refunds: 0 });
  });

  it('scripts API errors, rejects a wrong API key, and lets a step wait for the test before answering', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    fake = await startFakeOpenAI({
      apiKey: 'sk-right',
      script: [{ error: { status: 400, message: 'bad tool schema', code: 'invalid_tools' } }, async () => (await gate, { text: 'released' })],
    });
    const client = new OpenAI({ apiKey: 'sk-right', baseURL: fake.url, maxRetries: 0 });
    const bad = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect((bad as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('invalid_tools');
    const wrongKey = await new OpenAI({ apiKey: 'sk-wrong', baseURL: fake.url, maxRetries: 0 }).models.list().catch((e: unknown) => e);
    expect(wrongKey).toBeInstanceOf(OpenAI.AuthenticationError);
    const pending = client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] });
    release();
    expect((await pending).choices[0]!.message.content).toBe('released');
  });
});
