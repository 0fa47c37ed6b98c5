/**
 * A repeated Idempotency-Key is forwarded (Stripe replays its answer) but counted once, and a
 * key that never produced a payment cannot be used to slip a later one past the cap.
 */
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { auditOf, issueStripeKey, raw, sdk, sdkError, spendMicros, useStripeStack } from './harness.ts';

const stack = useStripeStack({ label: 'idem' });

const issue = (policy: Record<string, unknown> = {}) => issueStripeKey(stack, { metadata: { role: 'idempotency' }, ...policy });

const createdIntents = (since: number) => stack.upstream.requests.slice(since).filter((r) => r.method === 'POST' && r.path === '/v1/payment_intents');

describe('idempotent retries are counted once', () => {
  it('the same idempotencyKey twice gives one upstream object and one charge against the cap', async () => {
    const key = await issue();
    const stripe = sdk(stack.keyleash.url, key.vault_key);
    const before = stack.upstream.requests.length;
    const first = await stripe.paymentIntents.create({ amount: 2500, currency: 'usd' }, { idempotencyKey: 'order-77' });
    const second = await stripe.paymentIntents.create({ amount: 2500, currency: 'usd' }, { idempotencyKey: 'order-77' });
    expect(second.id).toBe(first.id);
    expect(second.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect(createdIntents(before).length).toBe(2); // both forwarded; Stripe replayed the second
    expect(await spendMicros(stack, key.id)).toBe(25_000_000);
    const rows = await auditOf(stack, key.id);
    expect(rows.map((r) => [r.reason, r.reserved_micros])).toEqual([
      [null, 25_000_000],
      ['idempotent_replay', 0],
    ]);
  });

  it('a replay is not refused by a cap the original already filled', async () => {
    const key = await issue({ daily_usd_cap: 25 });
    const stripe = sdk(stack.keyleash.url, key.vault_key);
    const first = await stripe.paymentIntents.create({ amount: 2500, currency: 'usd' }, { idempotencyKey: 'full-cap' });
    const again = await stripe.paymentIntents.create({ amount: 2500, currency: 'usd' }, { idempotencyKey: 'full-cap' });
    expect(again.id).toBe(first.id);
    expect(await spendMicros(stack, key.id)).toBe(25_000_000);
  });

  it('stripe-node’s own retry after an upstream 500 is counted once, and the intent it created is not counted again at confirm', async () => {
    const key = await issue();
    const stripe = sdk(stack.keyleash.url, key.vault_key, { maxNetworkRetries: 1 });
    const before = stack.upstream.requests.length;
    stack.upstream.inject({ method: 'POST', pathPrefix: '/v1/payment_intents', status: 500, times: 1 });
    const intent = await stripe.paymentIntents.create({ amount: 3000, currency: 'usd' });
    const attempts = createdIntents(before);
    expect(attempts.length).toBe(2);
    expect(attempts[0]!.headers['idempotency-key']).toBe(attempts[1]!.headers['idempotency-key']);
    expect(await spendMicros(stack, key.id)).toBe(30_000_000);
    expect((await auditOf(stack, key.id)).map((r) => [r.status, r.reason, r.reserved_micros])).toEqual([
      [500, 'upstream_5xx_kept', 30_000_000],
      [200, 'idempotent_replay', 0],
    ]);

    const confirmed = await stripe.paymentIntents.confirm(intent.id, { payment_method: 'pm_card_visa' });
    expect(confirmed.status).toBe('succeeded');
    expect(await spendMicros(stack, key.id)).toBe(30_000_000);
    expect((await auditOf(stack, key.id)).at(-1)).toMatchObject({ path: `/v1/payment_intents/${intent.id}/confirm`, reserved_micros: 0, settled_micros: 0 });
  });

  it('an idempotency key whose first use Stripe rejected (4xx, nothing saved) does not make the next payment free', async () => {
    const key = await issue({ daily_usd_cap: 10 });
    const form = { authorization: `Bearer ${key.vault_key}`, 'content-type': 'application/x-www-form-urlencoded', 'idempotency-key': 'reused-after-400' };
    const before = stack.upstream.requests.length;
    // an unknown parameter fails Stripe's validation, so Stripe stores no idempotent result
    const rejected = await raw(stack.keyleash.url, { method: 'POST', path: '/v1/payment_intents', headers: form, body: 'amount=700&currency=usd&not_a_param=1' });
    expect(rejected.status).toBe(400);
    expect(await spendMicros(stack, key.id)).toBe(0);

    // the same key again, now for $50 under a $10 cap: it must be priced, not waved through as a replay
    const big = await raw(stack.keyleash.url, { method: 'POST', path: '/v1/payment_intents', headers: form, body: 'amount=5000&currency=usd' });
    expect(big.status).toBe(403);
    expect(big.json.error.code).toBe('keyleash_daily_cap_reached');
    expect(createdIntents(before).length).toBe(1);

    // and within the cap it is counted
    const small = await raw(stack.keyleash.url, { method: 'POST', path: '/v1/payment_intents', headers: form, body: 'amount=900&currency=usd' });
    expect(small.status).toBe(200);
    expect(await spendMicros(stack, key.id)).toBe(9_000_000);
  });

  it('reusing a key with a larger amount after an upstream 5xx counts the difference', async () => {
    const key = await issue({ daily_usd_cap: 20 });
    const form = { authorization: `Bearer ${key.vault_key}`, 'content-type': 'application/x-www-form-urlencoded', 'idempotency-key': 'grow-after-500' };
    stack.upstream.inject({ method: 'POST', pathPrefix: '/v1/payment_intents', status: 500, times: 1 });
    const failed = await raw(stack.keyleash.url, { method: 'POST', path: '/v1/payment_intents', headers: form, body: 'amount=500&currency=usd' });
    expect(failed.status).toBe(500);
    expect(await spendMicros(stack, key.id)).toBe(5_000_000);
    // Stripe saved nothing for the 500, so this one executes: $18 of which $5 is already held
    const retried = await raw(stack.keyleash.url, { method: 'POST', path: '/v1/payment_intents', headers: form, body: 'amount=1800&currency=usd' });
    expect(retried.status).toBe(200);
    expect(await spendMicros(stack, key.id)).toBe(18_000_000);
    // $25 under the same key again is not a free replay: its $20 difference does not fit the cap
    const before = stack.upstream.requests.length;
    const bigger = await raw(stack.keyleash.url, { method: 'POST', path: '/v1/payment_intents', headers: form, body: 'amount=2500&currency=usd' });
    expect(bigger.status).toBe(403);
    expect(bigger.json.error.code).toBe('keyleash_daily_cap_reached');
    expect(stack.upstream.requests.length).toBe(before);
    expect(await spendMicros(stack, key.id)).toBe(18_000_000);
  });

  it('an idempotency key is scoped to the vault key that used it', async () => {
    const a = await issue();
    const b = await issue();
    await sdk(stack.keyleash.url, a.vault_key).paymentIntents.create({ amount: 1000, currency: 'usd' }, { idempotencyKey: 'shared-name' });
    await sdk(stack.keyleash.url, b.vault_key).paymentIntents.create({ amount: 1000, currency: 'usd' }, { idempotencyKey: 'shared-name' });
    expect(await spendMicros(stack, a.id)).toBe(10_000_000);
    expect(await spendMicros(stack, b.id)).toBe(10_000_000);
  });

  it('a reused key with different parameters is refused by Stripe and costs nothing', async () => {
    const key = await issue();
    const stripe = sdk(stack.keyleash.url, key.vault_key);
    await stripe.paymentIntents.create({ amount: 1000, currency: 'usd' }, { idempotencyKey: 'mismatch' });
    const error = await sdkError(stripe.paymentIntents.create({ amount: 1000, currency: 'usd', description: 'different' }, { idempotencyKey: 'mismatch' }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(await spendMicros(stack, key.id)).toBe(10_000_000);
  });
});
