/**
 * Hierarchical budgets under load, through the official Stripe SDK: a $100/day parent, two $80/day
 * children and a $30/day grandchild, all firing PaymentIntent creates at once. A child's spend is
 * reserved against its own cap and every ancestor's in one atomic store operation, so no cap
 * anywhere in the tree is exceeded and siblings compete for the parent's remaining budget.
 */
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditOf, sdk, spendMicros, startStripeStack, type StripeStack } from '../stripe/harness.ts';

let stack: StripeStack;

beforeAll(async () => {
  stack = await startStripeStack({ label: 'treeconc' });
});
afterAll(async () => {
  await stack?.stop();
});

const USD = 1_000_000;
const AMOUNT_CENTS = 700; // $7: 100 / 7 and 80 / 7 are not whole, so the boundary is exercised
const AMOUNT_MICROS = 7 * USD;
const PER_KEY = 30;
const ROUNDS = 4;

type Outcome = { ok: true; id: string } | { ok: false; code: string | undefined; refusedBy: string | undefined; isPermission: boolean };

async function fire(stripe: Stripe, count: number, label: string): Promise<Outcome[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i): Promise<Outcome> => {
      try {
        const intent = await stripe.paymentIntents.create({ amount: AMOUNT_CENTS, currency: 'usd', metadata: { who: label, n: String(i) } });
        return { ok: true, id: intent.id };
      } catch (error) {
        const e = error as InstanceType<typeof Stripe.errors.StripeError>;
        const details = (e.raw as { keyleash?: { key_id?: string } } | undefined)?.keyleash;
        return { ok: false, code: e.code, refusedBy: details?.key_id, isPermission: e instanceof Stripe.errors.StripePermissionError };
      }
    }),
  );
}

const admitted = (outcomes: Outcome[]) => outcomes.filter((o) => o.ok).length;

describe('siblings and grandchildren fired at concurrently never exceed any cap in the tree', () => {
  it(`$100 parent, two $80 children, a $30 grandchild: ${PER_KEY} simultaneous $7 creates per key, ${ROUNDS} rounds`, async () => {
    const fitsParent = Math.floor(100 / 7); // 14

    for (let round = 0; round < ROUNDS; round++) {
      const parent = await stack.api.issue({
        vendor: 'stripe',
        daily_usd_cap: 100,
        allowed_endpoints: ['POST /v1/payment_intents'],
        expires_in: '1h',
        metadata: { run_id: `conc-${round}` },
      });
      const childA = await stack.api.derive(parent.vault_key, { daily_usd_cap: 80, metadata: { role: 'a' } });
      const childB = await stack.api.derive(parent.vault_key, { daily_usd_cap: 80, metadata: { role: 'b' } });
      const grandchild = await stack.api.derive(childA.vault_key, { daily_usd_cap: 30, metadata: { sub: 'a1' } });
      const before = stack.upstream.requests.length;

      const keys = { parent, childA, childB, grandchild };
      const [pOut, aOut, bOut, gOut] = await Promise.all(
        Object.entries(keys).map(([label, key]) => fire(sdk(stack.keyleash.url, key.vault_key), PER_KEY, `${label}-${round}`)),
      );
      const all = [...pOut!, ...aOut!, ...bOut!, ...gOut!];
      const context = `round ${round}`;

      // every refusal is a cap refusal, raised by the SDK without retrying
      for (const outcome of all) {
        if (outcome.ok) continue;
        expect(outcome.code, context).toBe('keyleash_daily_cap_reached');
        expect(outcome.isPermission, context).toBe(true);
      }

      // the ledger: each key's spend (its own plus its descendants') is within its cap
      const spend = {
        parent: await spendMicros(stack, parent.id),
        childA: await spendMicros(stack, childA.id),
        childB: await spendMicros(stack, childB.id),
        grandchild: await spendMicros(stack, grandchild.id),
      };
      expect(spend.parent, context).toBeLessThanOrEqual(100 * USD);
      expect(spend.childA, context).toBeLessThanOrEqual(80 * USD);
      expect(spend.childB, context).toBeLessThanOrEqual(80 * USD);
      expect(spend.grandchild, context).toBeLessThanOrEqual(30 * USD);

      // the ledger agrees with who was admitted, level by level
      expect(spend.grandchild, context).toBe(admitted(gOut!) * AMOUNT_MICROS);
      expect(spend.childA, context).toBe((admitted(aOut!) + admitted(gOut!)) * AMOUNT_MICROS);
      expect(spend.childB, context).toBe(admitted(bOut!) * AMOUNT_MICROS);
      expect(spend.parent, context).toBe(admitted(all) * AMOUNT_MICROS);

      // the parent's own stream alone wants $210, so the tree ends with the parent's budget used up
      // to the last whole $7: exactly 14 creates, whoever won them
      expect(admitted(all), context).toBe(fitsParent);

      // the upstream saw exactly the admitted creates: count x amount = the parent's spend, <= $100
      const received = stack.upstream.requests.slice(before).filter((r) => r.method === 'POST' && r.path === '/v1/payment_intents');
      expect(received.length, context).toBe(admitted(all));
      expect(received.length * AMOUNT_MICROS, context).toBe(spend.parent);
      expect(new Set(all.flatMap((o) => (o.ok ? [o.id] : []))).size, context).toBe(admitted(all));

      // siblings compete: their caps add up to $160, but together they got at most the parent's $100,
      // and at least one of them was stopped by the parent's cap while under its own
      expect(spend.childA + spend.childB, context).toBeLessThanOrEqual(100 * USD);
      const stoppedByParent = [...aOut!, ...bOut!].filter((o) => !o.ok && o.refusedBy === parent.id);
      expect(stoppedByParent.length, context).toBeGreaterThan(0);
      for (const outcome of gOut!) {
        if (!outcome.ok) expect([grandchild.id, childA.id, parent.id], context).toContain(outcome.refusedBy);
      }

      // the audit has one row per request, every row in the parent's tree
      const rows = [
        ...(await auditOf(stack, parent.id)),
        ...(await auditOf(stack, childA.id)),
        ...(await auditOf(stack, childB.id)),
        ...(await auditOf(stack, grandchild.id)),
      ];
      expect(rows.length, context).toBe(all.length);
      expect(rows.every((r) => r.root_key_id === parent.id), context).toBe(true);
      expect(rows.filter((r) => r.decision === 'allowed').length, context).toBe(admitted(all));
    }
  });

  it('children alone (the parent sends nothing) still share the parent budget: at most $100 between them', async () => {
    for (let round = 0; round < 2; round++) {
      const parent = await stack.api.issue({ vendor: 'stripe', daily_usd_cap: 100, allowed_endpoints: ['POST /v1/payment_intents'], expires_in: '1h' });
      const children = await Promise.all([0, 1, 2].map(() => stack.api.derive(parent.vault_key, { daily_usd_cap: 80 })));
      const outcomes = (await Promise.all(children.map((child, i) => fire(sdk(stack.keyleash.url, child.vault_key), PER_KEY, `only-${round}-${i}`)))).flat();
      // 3 x 30 x $7 = $630 of demand against $100: exactly 14 fit, none of the children past $80
      expect(admitted(outcomes)).toBe(14);
      expect(await spendMicros(stack, parent.id)).toBe(14 * AMOUNT_MICROS);
      for (const child of children) expect(await spendMicros(stack, child.id)).toBeLessThanOrEqual(80 * USD);
    }
  });
});
