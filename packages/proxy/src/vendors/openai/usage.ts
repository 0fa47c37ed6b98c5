import type { TokenCounts } from '@keyleash/core';

const count = (value: unknown): number | undefined => (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined);

/**
 * The tokens an OpenAI `usage` object reports, in either spelling: chat completions and
 * embeddings (`prompt_tokens`, `completion_tokens`, `prompt_tokens_details.cached_tokens`) or the
 * Responses API (`input_tokens`, `output_tokens`, `input_tokens_details.cached_tokens`).
 * Undefined when it is not a usage object keyleash can read (then the reservation stays counted).
 */
export function tokensFromUsage(usage: unknown): TokenCounts | undefined {
  if (usage === null || typeof usage !== 'object') return undefined;
  const u = usage as Record<string, any>;
  const input = count(u.prompt_tokens) ?? count(u.input_tokens);
  if (input === undefined) return undefined;
  const output = count(u.completion_tokens) ?? count(u.output_tokens) ?? 0;
  const cachedInput = count(u.prompt_tokens_details?.cached_tokens) ?? count(u.input_tokens_details?.cached_tokens) ?? 0;
  return { input, cachedInput, output };
}
