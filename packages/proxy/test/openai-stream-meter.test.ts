import { DEFAULT_OPENAI_PRICE_TABLE, openAIModelPrice, openAITokensCost } from '@keyleash/core';
import { describe, expect, it } from 'vitest';
import { OpenAIStreamMeter } from '../src/vendors/openai/stream-meter.ts';

const price = openAIModelPrice(DEFAULT_OPENAI_PRICE_TABLE, 'gpt-4o-mini')!;
const chunk = (fields: Record<string, unknown>) => `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 0, model: 'gpt-4o-mini', ...fields })}\n\n`;
const usageChunk = chunk({ choices: [], usage: { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120 } });
const stream = chunk({ choices: [{ index: 0, delta: { content: 'hé' }, finish_reason: null }] }) + usageChunk + 'data: [DONE]\n\n';

/** Feeds `text` to a meter in pieces of `size` bytes (splitting UTF-8 characters and event boundaries). */
function feed(meter: OpenAIStreamMeter, text: string, size: number): string {
  const bytes = Buffer.from(text);
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(meter.push(bytes.subarray(at, at + size)));
  out.push(meter.end());
  return Buffer.concat(out).toString('utf8');
}

describe('the OpenAI stream meter', () => {
  it.each([1, 3, 7, 1000])('reads the usage and drops the usage chunk it asked for, in %i-byte pieces, events intact', (size) => {
    const meter = new OpenAIStreamMeter({ price, stripUsageChunk: true });
    expect(feed(meter, stream, size)).toBe(stream.replace(usageChunk, ''));
    expect(meter.cost()).toEqual({ micros: openAITokensCost(price, { input: 100, output: 20 }) });
  });

  it('passes every byte through when the client asked for usage, CRLF framing included', () => {
    const crlf = stream.replaceAll('\n\n', '\r\n\r\n');
    const meter = new OpenAIStreamMeter({ price, stripUsageChunk: false });
    expect(feed(meter, crlf, 5)).toBe(crlf);
    expect(meter.cost()).toBeDefined();
  });

  it('reads a Responses API stream from response.completed, and knows no cost when the stream broke off before it', () => {
    const completed = `event: response.completed\ndata: ${JSON.stringify({ type: 'response.completed', response: { usage: { input_tokens: 40, output_tokens: 2, input_tokens_details: { cached_tokens: 8 } } } })}\n\n`;
    const meter = new OpenAIStreamMeter({ price, stripUsageChunk: false });
    expect(feed(meter, `event: response.created\ndata: {"type":"response.created","response":{"usage":null}}\n\n${completed}`, 4)).toContain('response.completed');
    expect(meter.cost()).toEqual({ micros: openAITokensCost(price, { input: 40, cachedInput: 8, output: 2 }) });
    const broken = new OpenAIStreamMeter({ price, stripUsageChunk: true });
    feed(broken, chunk({ choices: [{ index: 0, delta: { content: 'x' }, finish_reason: null }] }), 10);
    expect(broken.cost()).toBeUndefined();
  });
});
