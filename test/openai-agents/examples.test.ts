import { describe, expect, it } from 'vitest';
import { runMultiTenantExample } from '../../examples/multi-tenant/src/multi-tenant.ts';
import { runNestedExample } from '../../examples/nested-openai-agents/src/nested.ts';

// An empty environment: the examples' offline mode (local fake Stripe, in-process keyleash, scripted model).
const OFFLINE = {};

describe('examples, offline', () => {
  it('nested-openai-agents: triage hands off, the installments sub-agent is stopped by its $200 child key, the child dies with the invocation', async () => {
    const lines: string[] = [];
    const result = await runNestedExample({ env: OFFLINE, log: (line) => lines.push(line) });

    expect(result.model).toBe('scripted');
    expect(result.lastAgent).toBe('refunds');
    expect(result.finalOutput).toMatch(/2 of your 3 installments were collected.*refunded/);
    expect(result.childKeys).toEqual([{ id: expect.any(String), status: 'revoked', daily_usd_cap: 200, lifetime_minutes: 30, spend_usd: 135 }]);
    const child = result.childKeys[0]!.id;
    const byAgent = (agent: string) => result.audit.filter((r) => r.attribution.agent === agent).map((r) => [r.vault_key_id, r.decision, r.reason, r.settled_usd]);
    expect(byAgent('triage')).toEqual([[result.keys.triage, 'allowed', null, 0]]);
    expect(byAgent('installments')).toEqual([
      [child, 'allowed', null, 60],
      [child, 'allowed', null, 75],
      [child, 'refused', 'keyleash_daily_cap_reached', 0],
    ]);
    expect(byAgent('refunds')).toEqual([[result.keys.refunds, 'allowed', null, 25]]);
    expect(result.spendUsd).toEqual({ triage: 0, billing: 135, refunds: 25 });
    expect(lines.some((l) => l.includes(`child key ${child} revoked`))).toBe(true);
  });

  it("multi-tenant: each customer's session key is capped by plan, and the audit's per-customer spend matches Stripe's records", async () => {
    const { model, reports } = await runMultiTenantExample({ env: OFFLINE });

    expect(model).toBe('scripted');
    expect(reports.map((r) => [r.name, r.plan, r.capUsd])).toEqual([
      ['Acme Bakery', 'starter', 25],
      ['Globex', 'pro', 250],
      ['Initech', 'enterprise', 2500],
    ]);
    for (const report of reports) {
      expect(report.spendUsd).toBe(report.stripeUsd);
      expect(report.spendUsd).toBeLessThanOrEqual(report.capUsd);
      expect(new Set(report.calls.map((c) => c.vault_key_id))).toEqual(new Set([report.sessionKeyId]));
      expect(new Set(report.calls.map((c) => c.attribution.run_id)).size).toBe(1);
    }
    const [acme, globex, initech] = reports;
    // $19 + $15 asked at once on a $25 plan: whichever lands first goes through, the other is refused
    expect(acme!.calls.map((c) => c.decision).sort()).toEqual(['allowed', 'refused']);
    expect([15, 19]).toContain(acme!.spendUsd);
    expect(acme!.answer).toMatch(/not charged \(keyleash_daily_cap_reached\)/);
    expect(globex!.spendUsd).toBe(144);
    expect(initech!.spendUsd).toBe(120);
  });
});
