/**
 * Reserve -> forward -> settle when the upstream does not simply say yes: a 5xx keeps the
 * reservation counted (the money may have moved) and says so in the audit; a 4xx releases it.
 */
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { auditOf, issueStripeKey, sdk, sdkError, spendMicros, useStripeStack } from './harness.ts';

const stack = useStripeStack({ label: 'fail' });

const issue = (policy: Record<string, unknown> = {}) => issueStripeKey(stack, { metadata: { role: 'failures' }, ...policy });

describe('upstream answers other than success', () => {
  it('a 500 on a PaymentIntent create raises in the SDK and keeps the reservation counted', async () => {
    const key = await issue();
    const stripe = sdk(stack.keyleash.url, key.vault_key);
    stack.upstream.inject({ method: 'POST', pathPrefix: '/v1/payment_intents', status: 500, times: 1 });
    const error = await sdkError(stripe.paymentIntents.create({ amount: 4000, currency: 'usd' }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeAPIError);
    expect(error.statusCode).toBe(500);
    expect(await spendMicros(stack, key.id)).toBe(40_000_000);
    const [row] = await auditOf(stack, key.id);
    expect(row).toMatchObject({ decision: 'allowed', status: 500, reason: 'upstream_5xx_kept', reserved_micros: 40_000_000, settled_micros: 40_000_000 });
  });

  it('a kept reservation still counts against the cap', async () => {
    const key = await issue({ daily_usd_cap: 50 });
    const stripe = sdk(stack.keyleash.url, key.vault_key);
    stack.upstream.inject({ method: 'POST', pathPrefix: '/v1/payment_intents', status: 503, times: 1 });
    await sdkError(stripe.paymentIntents.create({ amount: 4000, currency: 'usd' }));
    const before = stack.upstream.requests.length;
    const refused = await sdkError(stripe.paymentIntents.create({ amount: 2000, currency: 'usd' }));
    expect(refused.code).toBe('keyleash_daily_cap_reached');
    expect(stack.upstream.requests.length).toBe(before);
  });

  it('a 4xx from Stripe (amount below its minimum) releases the reservation', async () => {
    const key = await issue();
    const stripe = sdk(stack.keyleash.url, key.vault_key);
    await stripe.paymentIntents.create({ amount: 1000, currency: 'usd' });
    const error = await sdkError(stripe.paymentIntents.create({ amount: 30, currency: 'usd' }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(error.code).toBe('amount_too_small');
    expect(await spendMicros(stack, key.id)).toBe(10_000_000);
    const rows = await auditOf(stack, key.id);
    expect(rows.at(-1)).toMatchObject({ decision: 'allowed', status: 400, reserved_micros: 300_000, settled_micros: 0 });
  });

  it('a card decline (402) releases the reservation and reaches the SDK as StripeCardError', async () => {
    const key = await issue();
    const stripe = sdk(stack.keyleash.url, key.vault_key);
    const error = await sdkError(stripe.paymentIntents.create({ amount: 2500, currency: 'usd', confirm: true, payment_method: 'pm_card_chargeDeclined' }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(error.code).toBe('card_declined');
    expect(await spendMicros(stack, key.id)).toBe(0);
  });

  it('a released reservation frees the cap for the next request', async () => {
    const key = await issue({ daily_usd_cap: 20 });
    const stripe = sdk(stack.keyleash.url, key.vault_key);
    stack.upstream.inject({ method: 'POST', pathPrefix: '/v1/payment_intents', status: 400, times: 1 });
    await sdkError(stripe.paymentIntents.create({ amount: 2000, currency: 'usd' }));
    const intent = await stripe.paymentIntents.create({ amount: 2000, currency: 'usd' });
    expect(intent.amount).toBe(2000);
    expect(await spendMicros(stack, key.id)).toBe(20_000_000);
  });
});
