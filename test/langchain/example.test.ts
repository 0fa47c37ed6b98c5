import { describe, expect, it } from 'vitest';
import { main } from '../../examples/group-chat-langchain/src/main.ts';

describe('examples/group-chat-langchain', () => {
  it('runs offline: each agent spends under its own key, the fees sub-agent under a child key that ends revoked, and the report says who spent what', async () => {
    const lines: string[] = [];
    const result = await main({ offline: true, log: (line) => lines.push(line) });

    expect(result.mode).toEqual({ model: 'scripted', stripe: 'fake', keyleash: 'spawned' });
    const rowsOf = (agent: string) => result.audit.filter((r) => r.attribution.agent === agent);
    expect(rowsOf('billing').every((r) => r.vault_key_id === result.keys.billing)).toBe(true);
    expect(rowsOf('refunds').every((r) => r.vault_key_id === result.keys.refunds)).toBe(true);
    expect(result.keys.feesChildren).toHaveLength(1);
    const [child] = result.keys.feesChildren;
    expect(rowsOf('fees').every((r) => r.vault_key_id === child && r.root_key_id === result.keys.billing)).toBe(true);
    expect(result.childStatus).toEqual({ [child!]: 'revoked' });
    expect(result.audit.every((r) => r.attribution.run_id === result.runId && r.attribution.tool_call_id)).toBe(true);

    // the fees agent's second fee would pass its 15 USD child cap: refused, and the agents carried on
    expect(rowsOf('fees').map((r) => r.decision)).toEqual(['allowed', 'refused']);
    expect(result.spend).toEqual([
      { role: 'billing', agent: 'billing', keyIds: [result.keys.billing], calls: 1, refused: 0, usd: 49 },
      { role: 'billing', agent: 'fees', keyIds: [child], calls: 2, refused: 1, usd: 12 },
      { role: 'refunds', agent: 'refunds', keyIds: [result.keys.refunds], calls: 2, refused: 0, usd: 10 },
    ]);
    expect(result.answer).toMatch(/Refunds: refund re_\w+: 1000 usd succeeded on pi_\w+/);
    expect(lines).toContain('Who spent what:');
    expect(lines.some((line) => /billing key total, its fees sub-agent included: \$61\.00 of \$100\.00/.test(line))).toBe(true);
    expect(lines.some((line) => line.includes(`fees child key ${child}: revoked`))).toBe(true);
  });
});
