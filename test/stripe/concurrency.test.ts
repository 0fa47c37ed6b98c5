/**
 * No overspend under load: hundreds of PaymentIntent creates fired at once against one capped
 * key. Exactly floor(cap / amount) are admitted, the upstream sees exactly those, and the ledger
 * equals what the upstream received.
 */
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { auditOf, sdk, spendMicros, useStripeStack } from './harness.ts';

const stack = useStripeStack({ label: 'conc' });

const CAP_USD = 100;
const AMOUNT_CENTS = 700;
const REQUESTS = 300;
const ROUNDS = 5;

describe('a burst of concurrent creates against one cap', () => {
  it(`admits exactly floor(cap / amount) of ${REQUESTS} simultaneous $7 creates under a $100 cap, ${ROUNDS} rounds in a row`, async () => {
    const expectedOk = Math.floor((CAP_USD * 100) / AMOUNT_CENTS); // 14
    for (let round = 0; round < ROUNDS; round++) {
      const key = await stack.api.issue({ vendor: 'stripe', daily_usd_cap: CAP_USD, allowed_endpoints: ['POST /v1/payment_intents'], expires_in: '1h', metadata: { role: 'burst', round: String(round) } });
      const stripe = sdk(stack.keyleash.url, key.vault_key);
      const before = stack.upstream.requests.length;

      const results = await Promise.allSettled(
        Array.from({ length: REQUESTS }, (_, i) => stripe.paymentIntents.create({ amount: AMOUNT_CENTS, currency: 'usd', metadata: { n: String(i) } })),
      );

      const ok = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(ok.length, `round ${round}`).toBe(expectedOk);
      for (const failure of failed) {
        expect(failure.reason).toBeInstanceOf(Stripe.errors.StripePermissionError);
        expect((failure.reason as InstanceType<typeof Stripe.errors.StripeError>).code).toBe('keyleash_daily_cap_reached');
      }
      expect(new Set(ok.map((intent) => intent.id)).size).toBe(expectedOk);

      const received = stack.upstream.requests.slice(before);
      expect(received.filter((r) => r.method === 'POST' && r.path === '/v1/payment_intents').length).toBe(expectedOk);
      expect(received.length).toBe(expectedOk);

      expect(await spendMicros(stack, key.id)).toBe(expectedOk * 7_000_000);
      const rows = await auditOf(stack, key.id);
      expect(rows.length).toBe(REQUESTS);
      expect(rows.filter((r) => r.decision === 'allowed').length).toBe(expectedOk);
      expect(rows.filter((r) => r.reason === 'keyleash_daily_cap_reached').length).toBe(REQUESTS - expectedOk);
    }
  });
});
