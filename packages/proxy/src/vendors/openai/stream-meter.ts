import { openAITokensCost, type OpenAIModelPrice, type TokenCounts } from '@keyleash/core';
import type { SettledCost, StreamMeter } from '../vendor.ts';
import { tokensFromUsage } from './usage.ts';

const LF_LF = Buffer.from('\n\n');
const CRLF_CRLF = Buffer.from('\r\n\r\n');

/** Where the first server-sent event in `buffer` ends (after its blank line), or -1. */
function eventEnd(buffer: Buffer): number {
  const lf = buffer.indexOf(LF_LF);
  const crlf = buffer.indexOf(CRLF_CRLF);
  if (lf === -1) return crlf === -1 ? -1 : crlf + CRLF_CRLF.length;
  if (crlf === -1 || lf < crlf) return lf + LF_LF.length;
  return crlf + CRLF_CRLF.length;
}

/** The JSON of an event's `data:` lines, or undefined (e.g. `[DONE]`, comments). */
function eventData(event: Buffer): any {
  const data = event
    .toString('utf8')
    .split(/\r?\n/)
    .filter((line) => line.startsWith('data:'))
    .map((line) => line.slice(5).replace(/^ /, ''))
    .join('\n');
  if (!data || data === '[DONE]') return undefined;
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}

/**
 * Reads the usage of a streamed chat completion (its final `{"choices": [], "usage": {…}}` chunk)
 * or Responses API stream (`response.completed` / `response.incomplete` / `response.failed`, whose
 * `response.usage` is the call's). Events pass through byte for byte, whole; when keyleash added
 * `stream_options.include_usage` itself, the usage chunk is dropped so the client sees the stream
 * it asked for.
 */
export class OpenAIStreamMeter implements StreamMeter {
  private pending: Buffer = Buffer.alloc(0);
  private tokens: TokenCounts | undefined;

  constructor(private readonly options: { price: OpenAIModelPrice; stripUsageChunk: boolean }) {}

  push(chunk: Buffer): Buffer {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: Buffer[] = [];
    for (let end = eventEnd(this.pending); end !== -1; end = eventEnd(this.pending)) {
      const event = this.pending.subarray(0, end);
      this.pending = this.pending.subarray(end);
      if (this.keep(event)) out.push(event);
    }
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }

  end(): Buffer {
    const rest = this.pending;
    this.pending = Buffer.alloc(0);
    return rest.length && this.keep(rest) ? rest : Buffer.alloc(0);
  }

  cost(): SettledCost | undefined {
    return this.tokens ? { micros: openAITokensCost(this.options.price, this.tokens) } : undefined;
  }

  /** records the usage an event carries; false when the event is the usage chunk to drop */
  private keep(event: Buffer): boolean {
    const data = eventData(event);
    if (data === undefined || typeof data !== 'object' || data === null) return true;
    const usage = tokensFromUsage(data.usage) ?? tokensFromUsage(data.response?.usage);
    if (!usage) return true;
    this.tokens = usage;
    const isUsageChunk = data.object === 'chat.completion.chunk' && Array.isArray(data.choices) && data.choices.length === 0;
    return !(this.options.stripUsageChunk && isUsageChunk);
  }
}
