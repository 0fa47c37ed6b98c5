/**
 * What a request costs before it is sent: refunds without an amount priced by lookup, one payment
 * counted once per key tree, and zero- and three-decimal currencies converted exactly with the
 * default FX table.
 */
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { expectedMicros } from './expected-micros.ts';
import { auditOf, directSdk, sdk, sdkError, spendMicros, useStripeStack } from './harness.ts';

const stack = useStripeStack({ label: 'price' });

const PAYMENTS = ['POST /v1/payment_intents', 'POST /v1/payment_intents/*/confirm', 'POST /v1/payment_intents/*/capture', 'POST /v1/refunds'];

async function issue(policy: Record<string, unknown> = {}) {
  return stack.api.issue({ vendor: 'stripe', daily_usd_cap: 1000, allowed_endpoints: PAYMENTS, expires_in: '1h', metadata: { role: 'pricing' }, ...policy });
}

describe('refund without an amount', () => {
  it('is priced at the refundable remainder, looked up upstream with the real secret', async () => {
    const key = await issue();
    const stripe = sdk(stack.keyleash.url, key.vault_key);
    const intent = await stripe.paymentIntents.create({ amount: 2000, currency: 'usd' });
    await stripe.paymentIntents.confirm(intent.id, { payment_method: 'pm_card_visa' });
    const partial = await stripe.refunds.create({ payment_intent: intent.id, amount: 500 });
    expect(partial).toMatchObject({ object: 'refund', amount: 500, status: 'succeeded' });

    const before = stack.upstream.requests.length;
    const rest = await stripe.refunds.create({ payment_intent: intent.id });
    expect(rest.amount).toBe(1500);
    const lookups = stack.upstream.requests.slice(before, -1);
    expect(lookups.map((r) => `${r.method} ${r.path}`)).toEqual([`GET /v1/payment_intents/${intent.id}`, `GET /v1/charges/${String(rest.charge)}`]);
    for (const lookup of lookups) expect(lookup.headers.authorization).toBe(`Bearer ${stack.secret}`);

    const rows = await auditOf(stack, key.id);
    expect(rows.map((r) => [r.path, r.reserved_micros, r.settled_micros])).toEqual([
      ['/v1/payment_intents', 20_000_000, 20_000_000],
      [`/v1/payment_intents/${intent.id}/confirm`, 0, 0],
      ['/v1/refunds', 5_000_000, 5_000_000],
      ['/v1/refunds', 15_000_000, 15_000_000],
    ]);
    expect(await spendMicros(stack, key.id)).toBe(40_000_000);
  });

  it('is refused when the remainder does not fit the cap, and no refund reaches the upstream', async () => {
    const payer = await issue();
    const payerSdk = sdk(stack.keyleash.url, payer.vault_key);
    const intent = await payerSdk.paymentIntents.create({ amount: 2000, currency: 'usd' });
    await payerSdk.paymentIntents.confirm(intent.id, { payment_method: 'pm_card_visa' });
    await payerSdk.refunds.create({ payment_intent: intent.id, amount: 500 });

    const refunder = await issue({ daily_usd_cap: 10, allowed_endpoints: ['POST /v1/refunds'] });
    const before = stack.upstream.requests.length;
    const error = await sdkError(sdk(stack.keyleash.url, refunder.vault_key).refunds.create({ payment_intent: intent.id }));
    expect(error).toBeInstanceOf(Stripe.errors.StripePermissionError);
    expect(error.code).toBe('keyleash_daily_cap_reached');
    expect(error.message).toContain('$15.00');
    const seen = stack.upstream.requests.slice(before);
    expect(seen.filter((r) => r.method === 'POST')).toEqual([]);
    expect(await spendMicros(stack, refunder.id)).toBe(0);
    // the charge is untouched: 1500 still refundable
    const charge = await directSdk(stack).charges.retrieve(String((await directSdk(stack).paymentIntents.retrieve(intent.id)).latest_charge));
    expect(charge.amount_refunded).toBe(500);
  });

  it('a refund by charge id with an explicit amount costs that amount in the charge’s currency', async () => {
    const key = await issue();
    const stripe = sdk(stack.keyleash.url, key.vault_key);
    const intent = await stripe.paymentIntents.create({ amount: 5000, currency: 'jpy', confirm: true, payment_method: 'pm_card_visa' });
    await stripe.refunds.create({ charge: String(intent.latest_charge), amount: 1000 });
    const row = (await auditOf(stack, key.id)).at(-1)!;
    expect(row.reserved_micros).toBe(Number(expectedMicros(1000, 'jpy', 0)));
  });
});

describe('one payment is counted once', () => {
  it('an intent created and confirmed under the same key tree costs its amount once; confirm costs 0', async () => {
    const key = await issue();
    const stripe = sdk(stack.keyleash.url, key.vault_key);
    const intent = await stripe.paymentIntents.create({ amount: 2000, currency: 'usd' });
    const confirmed = await stripe.paymentIntents.confirm(intent.id, { payment_method: 'pm_card_visa' });
    expect(confirmed.status).toBe('succeeded');
    const rows = await auditOf(stack, key.id);
    expect(rows.at(-1)).toMatchObject({ path: `/v1/payment_intents/${intent.id}/confirm`, reserved_micros: 0, settled_micros: 0 });
    expect(await spendMicros(stack, key.id)).toBe(20_000_000);
  });

  it('a manual-capture intent created under the key costs nothing again at capture', async () => {
    const key = await issue();
    const stripe = sdk(stack.keyleash.url, key.vault_key);
    const intent = await stripe.paymentIntents.create({ amount: 3000, currency: 'usd', capture_method: 'manual', confirm: true, payment_method: 'pm_card_visa' });
    expect(intent.status).toBe('requires_capture');
    const captured = await stripe.paymentIntents.capture(intent.id);
    expect(captured.status).toBe('succeeded');
    expect(await spendMicros(stack, key.id)).toBe(30_000_000);
  });

  it('an intent created outside keyleash is looked up and counted at its amount when confirmed through it', async () => {
    const outside = await directSdk(stack).paymentIntents.create({ amount: 3300, currency: 'usd' });
    const key = await issue();
    const stripe = sdk(stack.keyleash.url, key.vault_key);
    const before = stack.upstream.requests.length;
    const confirmed = await stripe.paymentIntents.confirm(outside.id, { payment_method: 'pm_card_visa' });
    expect(confirmed.status).toBe('succeeded');
    expect(stack.upstream.requests.slice(before).map((r) => `${r.method} ${r.path}`)).toEqual([
      `GET /v1/payment_intents/${outside.id}`,
      `POST /v1/payment_intents/${outside.id}/confirm`,
    ]);
    const row = (await auditOf(stack, key.id)).at(-1)!;
    expect(row).toMatchObject({ reserved_micros: 33_000_000, settled_micros: 33_000_000 });
    expect(await spendMicros(stack, key.id)).toBe(33_000_000);
  });

  it('an intent created by another key tree is counted in this tree when this tree confirms it', async () => {
    const creator = await issue();
    const confirmer = await issue();
    const intent = await sdk(stack.keyleash.url, creator.vault_key).paymentIntents.create({ amount: 1200, currency: 'usd' });
    await sdk(stack.keyleash.url, confirmer.vault_key).paymentIntents.confirm(intent.id, { payment_method: 'pm_card_visa' });
    expect(await spendMicros(stack, creator.id)).toBe(12_000_000);
    expect(await spendMicros(stack, confirmer.id)).toBe(12_000_000);
  });

  it('confirming an outside intent is refused when its looked-up amount exceeds the cap', async () => {
    const outside = await directSdk(stack).paymentIntents.create({ amount: 5000, currency: 'usd' });
    const key = await issue({ daily_usd_cap: 20, allowed_endpoints: ['POST /v1/payment_intents/*/confirm'] });
    const before = stack.upstream.requests.length;
    const error = await sdkError(sdk(stack.keyleash.url, key.vault_key).paymentIntents.confirm(outside.id, { payment_method: 'pm_card_visa' }));
    expect(error.code).toBe('keyleash_daily_cap_reached');
    expect(stack.upstream.requests.slice(before).filter((r) => r.method === 'POST')).toEqual([]);
  });
});

describe('currencies', () => {
  const cases: [string, number, string, number][] = [
    ['JPY (zero-decimal)', 12_345, 'jpy', 0],
    ['JPY, one yen', 1, 'jpy', 0],
    ['KWD (three-decimal)', 12_340, 'kwd', 3],
    ['KWD, one fils', 10, 'kwd', 3],
    ['EUR (two-decimal)', 4_299, 'eur', 2],
  ];
  for (const [label, amount, currency, exponent] of cases) {
    it(`prices ${label} ${amount} at exactly ${expectedMicros(amount, currency, exponent)} micro-USD`, async () => {
      const key = await issue();
      const intent = await sdk(stack.keyleash.url, key.vault_key).paymentIntents.create({ amount, currency });
      expect(intent).toMatchObject({ amount, currency });
      const [row] = await auditOf(stack, key.id);
      expect(row.reserved_micros).toBe(Number(expectedMicros(amount, currency, exponent)));
      expect(row.settled_micros).toBe(row.reserved_micros);
      expect(await spendMicros(stack, key.id)).toBe(row.reserved_micros);
    });
  }

  it('the expected values are the plain arithmetic (12 345 JPY = $81.477, 12.340 KWD = $40.105)', () => {
    expect(expectedMicros(12_345, 'jpy', 0)).toBe(81_477_000n);
    expect(expectedMicros(12_340, 'kwd', 3)).toBe(40_105_000n);
  });

  it('refuses a currency missing from the FX table rather than guessing its value', async () => {
    const key = await issue();
    const before = stack.upstream.requests.length;
    const error = await sdkError(sdk(stack.keyleash.url, key.vault_key).paymentIntents.create({ amount: 1000, currency: 'xpf' }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(error.code).toBe('keyleash_ambiguous_request');
    expect(error.message).toContain('FX table');
    expect(stack.upstream.requests.length).toBe(before);
  });
});
