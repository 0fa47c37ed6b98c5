/**
 * Concurrent steps on ONE payment: fired at once through the official SDK, from sibling child keys
 * of one capped root, they are each counted exactly once. The ledger ends at what the payment can
 * move (the fake Stripe's own state), and never above any cap.
 */
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { auditOf, directSdk, sdk, spendMicros, useStripeStack } from './harness.ts';

const stack = useStripeStack({ label: 'objconc' });

const ENDPOINTS = [
  'POST /v1/payment_intents',
  'POST /v1/payment_intents/*',
  'POST /v1/payment_intents/*/confirm',
  'POST /v1/payment_intents/*/capture',
  'POST /v1/payment_intents/*/increment_authorization',
];

/** a capped root and `children` SDK clients on child keys of it (siblings compete for the root's cap) */
async function tree(dailyUsd: number, children: number) {
  const root = await stack.api.issue({ vendor: 'stripe', daily_usd_cap: dailyUsd, allowed_endpoints: ENDPOINTS, expires_in: '1h', metadata: { role: 'objconc' } });
  const kids = await Promise.all(
    Array.from({ length: children }, (_, i) => stack.api.derive(root.vault_key, { vendor: 'stripe', daily_usd_cap: dailyUsd, allowed_endpoints: ENDPOINTS, expires_in: '30m', metadata: { worker: String(i) } })),
  );
  return { root, rootSdk: sdk(stack.keyleash.url, root.vault_key), kids: kids.map((kid) => ({ key: kid, stripe: sdk(stack.keyleash.url, kid.vault_key) })) };
}

function postsTo(before: number, path: string): number {
  return stack.upstream.requests.slice(before).filter((r) => r.method === 'POST' && r.path === path).length;
}

describe('concurrent steps on one PaymentIntent', () => {
  it('20 concurrent raises to the same amount from 4 sibling keys count the increase once', async () => {
    const { root, rootSdk, kids } = await tree(1000, 4);
    const intent = await rootSdk.paymentIntents.create({ amount: 100, currency: 'usd' });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => kids[i % 4]!.stripe.paymentIntents.update(intent.id, { amount: 50_000 })));
    expect(results.every((r) => r.amount === 50_000)).toBe(true);

    expect(await spendMicros(stack, root.id)).toBe(500_000_000);
    const rows = (await Promise.all(kids.map((kid) => auditOf(stack, kid.key.id)))).flat();
    expect(rows.length).toBe(20);
    expect(rows.map((r) => r.reserved_micros).filter((m) => m > 0)).toEqual([499_000_000]);
    // the children's spends add up to the root's
    const childSpends = await Promise.all(kids.map((kid) => spendMicros(stack, kid.key.id)));
    expect(childSpends.reduce((a, b) => a + b, 0)).toBe(499_000_000);

    // confirming moves what was counted, and costs nothing more
    const confirmed = await rootSdk.paymentIntents.confirm(intent.id, { payment_method: 'pm_card_visa' });
    expect(confirmed.amount_received).toBe(50_000);
    expect(await spendMicros(stack, root.id)).toBe(500_000_000);
  });

  it('10 concurrent increment_authorization steps to increasing totals end with the count at the highest total, as Stripe holds it', async () => {
    const { root, rootSdk, kids } = await tree(1000, 5);
    const intent = await rootSdk.paymentIntents.create({ amount: 1000, currency: 'usd', capture_method: 'manual', confirm: true, payment_method: 'pm_card_visa' });
    const totals = [2000, 9000, 4000, 11_000, 3000, 7000, 5000, 10_000, 6000, 8000];
    const results = await Promise.allSettled(totals.map((amount, i) => kids[i % 5]!.stripe.paymentIntents.incrementAuthorization(intent.id, { amount })));
    // Stripe refuses a total at or below the one it holds by then: those are released
    for (const result of results) {
      if (result.status === 'rejected') expect((result.reason as InstanceType<typeof Stripe.errors.StripeError>).code).toBe('parameter_invalid_integer');
    }
    expect(results[totals.indexOf(11_000)]!.status).toBe('fulfilled');

    const held = await directSdk(stack).paymentIntents.retrieve(intent.id);
    expect(held.amount).toBe(11_000);
    expect(await spendMicros(stack, root.id)).toBe(110_000_000);
    const captured = await rootSdk.paymentIntents.capture(intent.id);
    expect(captured.amount_received).toBe(11_000);
    expect(await spendMicros(stack, root.id)).toBe(110_000_000);
  });

  it('under a binding cap, concurrent increments never pass it: what is admitted reaches Stripe, the rest does not, and the count is what Stripe holds', async () => {
    const { root, rootSdk, kids } = await tree(60, 4);
    const intent = await rootSdk.paymentIntents.create({ amount: 1000, currency: 'usd', capture_method: 'manual', confirm: true, payment_method: 'pm_card_visa' });
    const totals = Array.from({ length: 16 }, (_, i) => 1500 + i * 500).reverse(); // $15 … $90, largest first
    const before = stack.upstream.requests.length;
    const results = await Promise.allSettled(totals.map((amount, i) => kids[i % 4]!.stripe.paymentIntents.incrementAuthorization(intent.id, { amount })));
    const capRefused = results.filter((r) => r.status === 'rejected' && (r.reason as InstanceType<typeof Stripe.errors.StripeError>).code === 'keyleash_daily_cap_reached').length;
    // every total above $60 is refused by keyleash and never forwarded
    expect(capRefused).toBe(totals.filter((t) => t > 6000).length);
    expect(postsTo(before, `/v1/payment_intents/${intent.id}/increment_authorization`)).toBe(totals.length - capRefused);

    const held = (await directSdk(stack).paymentIntents.retrieve(intent.id)).amount;
    expect(held).toBe(6000);
    const spent = await spendMicros(stack, root.id);
    expect(spent).toBe(held * 10_000);
    expect(spent).toBeLessThanOrEqual(60_000_000);
  });

  it('10 concurrent confirms of an intent created outside keyleash count it once', async () => {
    const outside = await directSdk(stack).paymentIntents.create({ amount: 4200, currency: 'usd' });
    const { root, kids } = await tree(100, 5);
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => kids[i % 5]!.stripe.paymentIntents.confirm(outside.id, { payment_method: 'pm_card_visa' })));
    expect(results.filter((r) => r.status === 'fulfilled').length).toBe(1);
    expect((await directSdk(stack).paymentIntents.retrieve(outside.id)).amount_received).toBe(4200);
    expect(await spendMicros(stack, root.id)).toBe(42_000_000);
  });
});
