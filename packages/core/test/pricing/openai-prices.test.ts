import { describe, expect, it } from 'vitest';
import { DEFAULT_OPENAI_PRICE_TABLE, openAIModelPrice, openAITokensCost, parseOpenAIPriceTable } from '../../src/index.ts';

describe('OpenAI price table', () => {
  it('ships a valid dated table', () => {
    expect(parseOpenAIPriceTable(JSON.parse(JSON.stringify(DEFAULT_OPENAI_PRICE_TABLE))).ok).toBe(true);
  });

  it('prices a dated snapshot as its base model, and knows no price for an unknown model', () => {
    expect(openAIModelPrice(DEFAULT_OPENAI_PRICE_TABLE, 'gpt-4o-mini-2024-07-18')).toBe(DEFAULT_OPENAI_PRICE_TABLE.models['gpt-4o-mini']);
    expect(openAIModelPrice(DEFAULT_OPENAI_PRICE_TABLE, 'gpt-imaginary')).toBeUndefined();
    expect(openAIModelPrice(DEFAULT_OPENAI_PRICE_TABLE, 'constructor')).toBeUndefined();
  });

  it('costs tokens exactly, cached input at its own price, rounded up to the micro-USD', () => {
    const price = { input_micros_per_1m: 150_000, cached_input_micros_per_1m: 75_000, output_micros_per_1m: 600_000 };
    expect(openAITokensCost(price, { input: 1_000_000, output: 0 })).toBe(150_000);
    expect(openAITokensCost(price, { input: 1200, cachedInput: 200, output: 80 })).toBe(213);
    expect(openAITokensCost(price, { input: 1, output: 0 })).toBe(1); // 0.15 micro-USD rounds up
    expect(openAITokensCost(price, { input: 0, output: 0 })).toBe(0);
    // no float on the way: 9e6 tokens at $100,000 per 1M is beyond 2^53 micro-micro-USD
    expect(openAITokensCost({ input_micros_per_1m: 100_000_000_000, output_micros_per_1m: 0 }, { input: 9_000_000, output: 0 })).toBe(900_000_000_000);
  });

  it('refuses a table with fractional or string prices, naming the field', () => {
    const bad = parseOpenAIPriceTable({ as_of: '2025-08-07', source: 'x', currency: 'usd', models: { m: { input_micros_per_1m: 0.5, output_micros_per_1m: '2' } } });
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.problems.join('\n')).toContain('openai_price_table.models.m.input_micros_per_1m');
      expect(bad.problems.join('\n')).toContain('openai_price_table.models.m.output_micros_per_1m');
    }
  });
});
