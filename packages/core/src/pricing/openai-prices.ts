/**
 * OpenAI model prices: a dated table of integer micro-USD per 1M tokens per model, and the cost
 * of a number of tokens (exact BigInt arithmetic, rounded UP to the micro-USD).
 */
import { z } from 'zod';
import type { MicroUsd } from '../money.ts';
import type { ParseTableResult } from './currency.ts';
import { asOfSchema, keyedRecord, parseTableWith, sourceSchema } from './table-schema.ts';

/** Prices of one model, in integer micro-USD per 1,000,000 tokens. */
export interface OpenAIModelPrice {
  readonly input_micros_per_1m: number;
  /** input tokens served from OpenAI's prompt cache; absent = billed as ordinary input */
  readonly cached_input_micros_per_1m?: number;
  /** output tokens (reasoning tokens included); 0 for embedding models */
  readonly output_micros_per_1m: number;
}

export interface OpenAIPriceTable {
  readonly as_of: string;
  readonly source: string;
  readonly currency: 'usd';
  /** model name -> prices; a dated snapshot name ("gpt-4o-2024-08-06") falls back to its base name */
  readonly models: Readonly<Record<string, OpenAIModelPrice>>;
  readonly notes?: string;
}

/** Integer micro-USD per 1M tokens; at most $100,000 per 1M tokens, far above any real price. */
const microsPer1m = (what: string) =>
  z
    .number({ error: `${what} must be an integer number of micro-USD per 1M tokens, e.g. 2500000 for $2.50` })
    .int(`${what} must be an integer number of micro-USD per 1M tokens (money never goes through fractions)`)
    .nonnegative(`${what} cannot be negative`)
    .max(100_000_000_000, `${what} is implausibly large (over $100,000 per 1M tokens)`);

const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/;

const openAIPriceTableSchema = z.strictObject({
  as_of: asOfSchema,
  source: sourceSchema,
  currency: z.literal('usd', { error: 'currency must be "usd" (prices are in US dollars)' }),
  models: keyedRecord(
    z.strictObject({
      input_micros_per_1m: microsPer1m('input_micros_per_1m'),
      cached_input_micros_per_1m: microsPer1m('cached_input_micros_per_1m').optional(),
      output_micros_per_1m: microsPer1m('output_micros_per_1m'),
    }),
    MODEL_NAME,
    'model names are 1-128 of A-Z a-z 0-9 . _ : / - (as OpenAI spells them)',
  ),
  notes: z.string().optional(),
});

/** Validate an operator-supplied OpenAI price table (parsed JSON). */
export function parseOpenAIPriceTable(json: unknown): ParseTableResult<OpenAIPriceTable> {
  return parseTableWith(openAIPriceTableSchema, json, 'openai_price_table');
}

/** OpenAI's dated snapshot suffix: "gpt-4o-mini-2024-07-18" is priced as "gpt-4o-mini". */
const SNAPSHOT_SUFFIX = /-\d{4}-\d{2}-\d{2}$/;

/** The price of `model`: the exact name, else its base name without a date suffix; undefined when unknown. */
export function openAIModelPrice(table: OpenAIPriceTable, model: string): OpenAIModelPrice | undefined {
  if (Object.hasOwn(table.models, model)) return table.models[model];
  const base = model.replace(SNAPSHOT_SUFFIX, '');
  if (base !== model && Object.hasOwn(table.models, base)) return table.models[base];
  return undefined;
}

/** Tokens of each kind a call used (or may use, for a reservation). */
export interface TokenCounts {
  /** every input token, cached ones included */
  input: number;
  /** the part of `input` served from the prompt cache */
  cachedInput?: number;
  output: number;
}

function tokenMicros(tokens: number, microsPer1m: number): bigint {
  return BigInt(Math.max(0, Math.trunc(tokens))) * BigInt(microsPer1m);
}

/** What these tokens cost at this model's prices, rounded up to the micro-USD. */
export function openAITokensCost(price: OpenAIModelPrice, tokens: TokenCounts): MicroUsd {
  const cached = Math.min(Math.max(0, tokens.cachedInput ?? 0), tokens.input);
  const cachedPrice = price.cached_input_micros_per_1m ?? price.input_micros_per_1m;
  const total = tokenMicros(tokens.input - cached, price.input_micros_per_1m) + tokenMicros(cached, cachedPrice) + tokenMicros(tokens.output, price.output_micros_per_1m);
  const micros = (total + 999_999n) / 1_000_000n;
  if (micros > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('token cost out of range');
  return Number(micros);
}
