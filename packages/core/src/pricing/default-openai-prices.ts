/**
 * The OpenAI price table keyleash ships with: standard-tier list prices (no Batch or Flex
 * discount, no Priority surcharge), in integer micro-USD per 1M tokens, dated. An operator
 * replaces it with their own (`--openai-price-table`, validated by parseOpenAIPriceTable);
 * a model not in the table is refused under a capped key.
 *
 * Transcribed from OpenAI's public pricing page as it read on the date below; this build ran
 * offline and could not re-check it. Check it against https://openai.com/api/pricing before
 * relying on it, and replace it when prices change.
 */
import type { OpenAIPriceTable } from './openai-prices.ts';
import { deepFreeze } from './table-schema.ts';

const usd = (perMillion: number) => Math.round(perMillion * 1_000_000);
const chat = (input: number, cached: number, output: number) => ({
  input_micros_per_1m: usd(input),
  cached_input_micros_per_1m: usd(cached),
  output_micros_per_1m: usd(output),
});
const embedding = (input: number) => ({ input_micros_per_1m: usd(input), output_micros_per_1m: 0 });

export const DEFAULT_OPENAI_PRICE_TABLE: OpenAIPriceTable = deepFreeze({
  as_of: '2025-08-07',
  source: 'OpenAI API pricing page (standard tier), transcribed; not re-verified offline',
  currency: 'usd',
  models: {
    'gpt-5': chat(1.25, 0.125, 10),
    'gpt-5-mini': chat(0.25, 0.025, 2),
    'gpt-5-nano': chat(0.05, 0.005, 0.4),
    'gpt-4.1': chat(2, 0.5, 8),
    'gpt-4.1-mini': chat(0.4, 0.1, 1.6),
    'gpt-4.1-nano': chat(0.1, 0.025, 0.4),
    'gpt-4o': chat(2.5, 1.25, 10),
    'gpt-4o-mini': chat(0.15, 0.075, 0.6),
    o3: chat(2, 0.5, 8),
    'o4-mini': chat(1.1, 0.275, 4.4),
    'o3-mini': chat(1.1, 0.55, 4.4),
    o1: chat(15, 7.5, 60),
    'text-embedding-3-small': embedding(0.02),
    'text-embedding-3-large': embedding(0.13),
    'text-embedding-ada-002': embedding(0.1),
  },
  notes: 'Reasoning tokens are billed as output tokens and bounded by the output-token limit keyleash reserves for.',
});
