/** The operator's own model price table (`--openai-price-table`) replaces the shipped one, validated at start. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { startKeyleash } from '../support/keyleash-process.ts';
import { auditOf, openaiSdk, useOpenAIStack } from './harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'keyleash-prices-'));
const table = join(dir, 'prices.json');
writeFileSync(
  table,
  JSON.stringify({ as_of: '2026-12-01', source: 'test contract', currency: 'usd', models: { 'house-model': { input_micros_per_1m: 1_000_000, output_micros_per_1m: 3_000_000 } } }),
);

const stack = useOpenAIStack({ extraArgs: ['--openai-price-table', table] });

describe('--openai-price-table', () => {
  it('prices by the operator table: its model at its price, a shipped-table model now unknown', async () => {
    const key = await stack.api.issue({ vendor: 'openai', daily_usd_cap: 1, allowed_endpoints: ['POST /v1/chat/completions'], expires_in: '1h' });
    stack.model.push([{ text: 'hi', usage: { input: 100, output: 200 } }]);
    await openaiSdk(stack, key.vault_key).chat.completions.create({ model: 'house-model', messages: [{ role: 'user', content: 'x' }], max_completion_tokens: 300 });
    // 100 x $1 + 200 x $3 per 1M = $0.0007
    expect((await auditOf(stack, key.id))[0].settled_micros).toBe(700);
    const refused = await openaiSdk(stack, key.vault_key)
      .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
    expect((refused as InstanceType<typeof OpenAI.APIError>).code).toBe('keyleash_unknown_model');
  });

  it('refuses to start on a table with a fractional price, naming the field', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ as_of: '2026-12-01', source: 'x', currency: 'usd', models: { m: { input_micros_per_1m: 0.5, output_micros_per_1m: 1 } } }));
    await expect(startKeyleash({ extraArgs: ['--openai-price-table', bad] })).rejects.toThrow(/openai_price_table\.models\.m\.input_micros_per_1m/);
  });
});
