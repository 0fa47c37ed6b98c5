import { describe, expect, it } from 'vitest';
import { runSharedBudgetExample } from '../../examples/nested-openai-agents/src/shared-budget.ts';

describe('example: one budget for a sub-agent model calls and its charges', () => {
  it('stops the third $0.50 charge because the sub-agent own model calls spent the rest of its $2, and counts all of it against the billing key', async () => {
    const result = await runSharedBudgetExample();
    const child = result.audit.filter((row) => row.vault_key_id === result.childKeyId);
    const sequence = child.map((row) => `${row.vendor}:${row.decision}${row.reason ? `:${row.reason}` : ''}`);
    expect(sequence).toEqual([
      'openai:allowed',
      'stripe:allowed',
      'openai:allowed',
      'stripe:allowed',
      'openai:allowed',
      'stripe:refused:keyleash_daily_cap_reached',
      'openai:allowed',
    ]);
    // each row names who spent: the sub-agent model calls and its tool calls alike
    expect(new Set(child.map((row) => row.attribution.agent))).toEqual(new Set(['installments']));
    expect(result.chargeResults.at(-1)).toContain('keyleash_daily_cap_reached');
    expect(result.spendUsd.childByVendor).toEqual({ openai: 0.72, stripe: 1 });
    expect(result.spendUsd.child).toBeCloseTo(1.72, 6);
    expect(result.spendUsd.child).toBeLessThanOrEqual(2);
    // the parent's spend is its own model calls plus everything the child spent
    const parentOwn = result.audit.filter((row) => row.vault_key_id === result.billingKeyId).reduce((sum, row) => sum + row.settled_micros, 0);
    expect(Math.round(result.spendUsd.billing * 1e6)).toBe(parentOwn + Math.round(result.spendUsd.child * 1e6));
  });
});
