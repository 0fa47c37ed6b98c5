/**
 * Counting per object, not per request: every step that can make a payment move money (create,
 * a raised amount or a changed currency, confirm, capture, increment_authorization) counts what it
 * lets the payment move beyond what the key tree already counted for it, before anything is sent;
 * refunds count by every path that creates one. Each sequence is driven with the official SDK
 * through a real keyleash against the fake Stripe, whose own state is the reference.
 */
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { expectedMicros } from './expected-micros.ts';
import { auditOf, directSdk, sdk, sdkError, spendMicros, useStripeStack } from './harness.ts';

const stack = useStripeStack({ label: 'ledger' });

const INTENTS = ['POST /v1/payment_intents', 'POST /v1/payment_intents/*', 'POST /v1/payment_intents/*/confirm'];
const AUTHORISATIONS = [...INTENTS, 'POST /v1/payment_intents/*/capture', 'POST /v1/payment_intents/*/increment_authorization'];
const REFUNDS = [...INTENTS, 'POST /v1/refunds', 'POST /v1/charges/*/refund', 'POST /v1/charges/*/refunds', 'POST /v1/refunds/*'];

async function issue(dailyUsd: number, endpoints: string[]) {
  const key = await stack.api.issue({ vendor: 'stripe', daily_usd_cap: dailyUsd, allowed_endpoints: endpoints, expires_in: '1h', metadata: { role: 'ledger' } });
  return { key, stripe: sdk(stack.keyleash.url, key.vault_key) };
}

/** the requests the fake Stripe received since `before`, as `METHOD /path` */
function seenSince(before: number): string[] {
  return stack.upstream.requests.slice(before).map((r) => `${r.method} ${r.path}`);
}

async function rows(keyId: string) {
  return (await auditOf(stack, keyId)).map((r) => [r.path, r.status, r.reserved_micros, r.settled_micros]);
}

describe('the attack of issue 12: create $1, raise it, confirm', () => {
  it('the raise to $5,000 under a $100 cap is refused, never reaches Stripe, and the confirm moves the $1 counted', async () => {
    const { key, stripe } = await issue(100, INTENTS);
    const intent = await stripe.paymentIntents.create({ amount: 100, currency: 'usd' });
    expect(await spendMicros(stack, key.id)).toBe(1_000_000);

    const before = stack.upstream.requests.length;
    const error = await sdkError(stripe.paymentIntents.update(intent.id, { amount: 500_000 }));
    expect(error).toBeInstanceOf(Stripe.errors.StripePermissionError);
    expect(error.code).toBe('keyleash_daily_cap_reached');
    // names what was wrong (the raise, its size, the cap) and what to do
    expect(error.message).toContain(intent.id);
    expect(error.message).toContain('$5,000.00');
    expect(error.message).toContain('costs $4,999.00');
    expect(error.message).toContain('daily cap of $100.00');
    expect(error.message).toContain('Do not retry');
    // only the lookup of the intent's currency (with the real key); no update
    expect(seenSince(before)).toEqual([`GET /v1/payment_intents/${intent.id}`]);
    expect(stack.upstream.requests.at(-1)!.headers.authorization).toBe(`Bearer ${stack.secret}`);

    const confirmed = await stripe.paymentIntents.confirm(intent.id, { payment_method: 'pm_card_visa' });
    expect(confirmed).toMatchObject({ status: 'succeeded', amount: 100, amount_received: 100 });
    expect(await spendMicros(stack, key.id)).toBe(1_000_000);
    expect(await rows(key.id)).toEqual([
      ['/v1/payment_intents', 200, 1_000_000, 1_000_000],
      [`/v1/payment_intents/${intent.id}`, 403, 0, 0],
      [`/v1/payment_intents/${intent.id}/confirm`, 200, 0, 0],
    ]);
  });

  it('a raise within the cap counts its increase, and the confirm then costs nothing: counted = what moved', async () => {
    const { key, stripe } = await issue(100, INTENTS);
    const intent = await stripe.paymentIntents.create({ amount: 100, currency: 'usd' });
    await stripe.paymentIntents.update(intent.id, { amount: 5000 });
    const confirmed = await stripe.paymentIntents.confirm(intent.id, { payment_method: 'pm_card_visa' });
    expect(confirmed.amount_received).toBe(5000);
    expect(await spendMicros(stack, key.id)).toBe(50_000_000);
    expect((await rows(key.id)).map((r) => r[2])).toEqual([1_000_000, 49_000_000, 0]);
  });

  it('create, lower the amount, confirm: the lowering gives nothing back and the confirm costs nothing', async () => {
    const { key, stripe } = await issue(100, INTENTS);
    const intent = await stripe.paymentIntents.create({ amount: 5000, currency: 'usd' });
    await stripe.paymentIntents.update(intent.id, { amount: 2000 });
    const confirmed = await stripe.paymentIntents.confirm(intent.id, { payment_method: 'pm_card_visa' });
    expect(confirmed.amount_received).toBe(2000);
    expect((await rows(key.id)).map((r) => r[2])).toEqual([50_000_000, 0, 0]);
    expect(await spendMicros(stack, key.id)).toBe(50_000_000);
  });

  it('an update that sets neither amount nor currency costs 0 and leaves the count alone (no lookup)', async () => {
    const { key, stripe } = await issue(100, INTENTS);
    const intent = await stripe.paymentIntents.create({ amount: 1500, currency: 'usd' });
    const before = stack.upstream.requests.length;
    await stripe.paymentIntents.update(intent.id, { description: 'renamed', metadata: { order: '42' } });
    expect(seenSince(before)).toEqual([`POST /v1/payment_intents/${intent.id}`]);
    // raising it to what was counted costs nothing either
    await stripe.paymentIntents.update(intent.id, { amount: 1500 });
    expect((await rows(key.id)).map((r) => r[2])).toEqual([15_000_000, 0, 0]);
  });

  it('the raise is also refused in the query string (Stripe merges it with the body)', async () => {
    const { key } = await issue(100, INTENTS);
    const stripe = sdk(stack.keyleash.url, key.vault_key);
    const intent = await stripe.paymentIntents.create({ amount: 100, currency: 'usd' });
    const before = stack.upstream.requests.length;
    const response = await fetch(`${stack.keyleash.url}/v1/payment_intents/${intent.id}?amount=500000`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.vault_key}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'description=x',
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('keyleash_ambiguous_request');
    expect(seenSince(before)).toEqual([]);
  });
});

describe('currency changes', () => {
  it('a new currency is priced with the amount looked up; an amount in a new currency at its own rate', async () => {
    const { key, stripe } = await issue(1000, INTENTS);
    const intent = await stripe.paymentIntents.create({ amount: 5000, currency: 'usd' });
    // 5000 -> €50.00 = $54.00: counts $4.00 more
    const before = stack.upstream.requests.length;
    await stripe.paymentIntents.update(intent.id, { currency: 'eur' });
    expect(seenSince(before)).toEqual([`GET /v1/payment_intents/${intent.id}`, `POST /v1/payment_intents/${intent.id}`]);
    const eur = Number(expectedMicros(5000, 'eur', 2));
    // 5000 in a zero-decimal currency: ¥5,000, less than counted: costs 0
    await stripe.paymentIntents.update(intent.id, { currency: 'jpy' });
    // both at once: ¥20,000
    await stripe.paymentIntents.update(intent.id, { amount: 20_000, currency: 'jpy' });
    const jpy = Number(expectedMicros(20_000, 'jpy', 0));
    const confirmed = await stripe.paymentIntents.confirm(intent.id, { payment_method: 'pm_card_visa' });
    expect(confirmed).toMatchObject({ amount_received: 20_000, currency: 'jpy' });
    expect((await rows(key.id)).map((r) => r[2])).toEqual([50_000_000, eur - 50_000_000, 0, jpy - eur, 0]);
    expect(await spendMicros(stack, key.id)).toBe(jpy);
  });

  it('a currency change that would pass the cap is refused before it reaches Stripe', async () => {
    const { key, stripe } = await issue(60, INTENTS);
    const intent = await stripe.paymentIntents.create({ amount: 5000, currency: 'usd' });
    const before = stack.upstream.requests.length;
    // 5000 KWD-fils = 5.000 KWD ≈ $16: fine; 5000 GBP pence = £50 = $63.50: over the $60 cap
    const error = await sdkError(stripe.paymentIntents.update(intent.id, { currency: 'gbp' }));
    expect(error.code).toBe('keyleash_daily_cap_reached');
    expect(seenSince(before).filter((s) => s.startsWith('POST'))).toEqual([]);
    expect((await directSdk(stack).paymentIntents.retrieve(intent.id)).currency).toBe('usd');
    expect(await spendMicros(stack, key.id)).toBe(50_000_000);
  });
});

describe('confirm=true at create', () => {
  it('counts the amount once; a confirm of the same intent later costs nothing', async () => {
    const { key, stripe } = await issue(100, INTENTS);
    const intent = await stripe.paymentIntents.create({ amount: 3000, currency: 'usd', confirm: true, payment_method: 'pm_card_visa' });
    expect(intent).toMatchObject({ status: 'succeeded', amount_received: 3000 });
    expect(await spendMicros(stack, key.id)).toBe(30_000_000);
  });

  it('over the cap it is refused and nothing reaches Stripe', async () => {
    const { key, stripe } = await issue(20, INTENTS);
    const before = stack.upstream.requests.length;
    const error = await sdkError(stripe.paymentIntents.create({ amount: 3000, currency: 'usd', confirm: true, payment_method: 'pm_card_visa' }));
    expect(error.code).toBe('keyleash_daily_cap_reached');
    expect(seenSince(before)).toEqual([]);
    expect(await spendMicros(stack, key.id)).toBe(0);
  });
});

describe('authorisations: increment_authorization and capture', () => {
  it('an increment counts the raise of the total; the capture then costs nothing', async () => {
    const { key, stripe } = await issue(100, AUTHORISATIONS);
    const intent = await stripe.paymentIntents.create({ amount: 3000, currency: 'usd', capture_method: 'manual', confirm: true, payment_method: 'pm_card_visa' });
    expect(intent.status).toBe('requires_capture');
    const incremented = await stripe.paymentIntents.incrementAuthorization(intent.id, { amount: 4500 });
    expect(incremented).toMatchObject({ amount: 4500, amount_capturable: 4500 });
    const captured = await stripe.paymentIntents.capture(intent.id);
    expect(captured.amount_received).toBe(4500);
    expect((await rows(key.id)).map((r) => r[2])).toEqual([30_000_000, 15_000_000, 0]);
    expect(await spendMicros(stack, key.id)).toBe(45_000_000);
  });

  it('an increment past the cap is refused and never reaches Stripe', async () => {
    const { key, stripe } = await issue(100, AUTHORISATIONS);
    const intent = await stripe.paymentIntents.create({ amount: 3000, currency: 'usd', capture_method: 'manual', confirm: true, payment_method: 'pm_card_visa' });
    const before = stack.upstream.requests.length;
    const error = await sdkError(stripe.paymentIntents.incrementAuthorization(intent.id, { amount: 20_000 }));
    expect(error).toBeInstanceOf(Stripe.errors.StripePermissionError);
    expect(error.code).toBe('keyleash_daily_cap_reached');
    expect(error.message).toContain('increment_authorization');
    expect(error.message).toContain('costs $170.00');
    expect(seenSince(before)).toEqual([`GET /v1/payment_intents/${intent.id}`]);
    expect((await directSdk(stack).paymentIntents.retrieve(intent.id)).amount).toBe(3000);
    expect(await spendMicros(stack, key.id)).toBe(30_000_000);
  });

  it('increment without amount is refused as ambiguous', async () => {
    const { key } = await issue(100, AUTHORISATIONS);
    const stripe = sdk(stack.keyleash.url, key.vault_key);
    const intent = await stripe.paymentIntents.create({ amount: 3000, currency: 'usd', capture_method: 'manual', confirm: true, payment_method: 'pm_card_visa' });
    const error = await sdkError(stripe.rawRequest('POST', `/v1/payment_intents/${intent.id}/increment_authorization`, {}));
    expect(error.code).toBe('keyleash_ambiguous_request');
    expect(error.message).toContain('"amount"');
  });

  it('partial capture, then an increment: Stripe refuses it, and the increase it reserved is given back', async () => {
    const { key, stripe } = await issue(100, AUTHORISATIONS);
    const intent = await stripe.paymentIntents.create({ amount: 5000, currency: 'usd', capture_method: 'manual', confirm: true, payment_method: 'pm_card_visa' });
    const captured = await stripe.paymentIntents.capture(intent.id, { amount_to_capture: 2000 });
    expect(captured).toMatchObject({ status: 'succeeded', amount_received: 2000 });
    const error = await sdkError(stripe.paymentIntents.incrementAuthorization(intent.id, { amount: 8000 }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(error.code).toBe('payment_intent_unexpected_state');
    expect(await rows(key.id)).toEqual([
      ['/v1/payment_intents', 200, 50_000_000, 50_000_000],
      [`/v1/payment_intents/${intent.id}/capture`, 200, 0, 0],
      [`/v1/payment_intents/${intent.id}/increment_authorization`, 400, 30_000_000, 0],
    ]);
    expect(await spendMicros(stack, key.id)).toBe(50_000_000);
  });

  it('increment, then a partial capture: counted at the incremented total, the capture costs nothing', async () => {
    const { key, stripe } = await issue(100, AUTHORISATIONS);
    const intent = await stripe.paymentIntents.create({ amount: 3000, currency: 'usd', capture_method: 'manual', confirm: true, payment_method: 'pm_card_visa' });
    await stripe.paymentIntents.incrementAuthorization(intent.id, { amount: 6000 });
    const captured = await stripe.paymentIntents.capture(intent.id, { amount_to_capture: 4000 });
    expect(captured.amount_received).toBe(4000);
    expect((await rows(key.id)).map((r) => r[2])).toEqual([30_000_000, 30_000_000, 0]);
  });

  it('an authorisation created outside keyleash is counted in full at its first step: capturing part of it counts that part', async () => {
    const outside = await directSdk(stack).paymentIntents.create({ amount: 9000, currency: 'usd', capture_method: 'manual', confirm: true, payment_method: 'pm_card_visa' });
    const { key, stripe } = await issue(100, AUTHORISATIONS);
    await stripe.paymentIntents.capture(outside.id, { amount_to_capture: 2500 });
    expect(await spendMicros(stack, key.id)).toBe(25_000_000);
  });
});

describe('refunds by every path', () => {
  it('POST /v1/refunds, /v1/charges/{charge}/refund and /v1/charges/{charge}/refunds each count their amount; without one, the remainder', async () => {
    const { key, stripe } = await issue(1000, REFUNDS);
    const intent = await stripe.paymentIntents.create({ amount: 6000, currency: 'usd', confirm: true, payment_method: 'pm_card_visa' });
    const charge = String(intent.latest_charge);
    const modern = await stripe.refunds.create({ charge, amount: 1000 });
    expect(modern.amount).toBe(1000);
    const legacy = (await stripe.rawRequest('POST', `/v1/charges/${charge}/refund`, { amount: 500 })) as unknown as { object: string; amount_refunded: number };
    expect(legacy).toMatchObject({ object: 'charge', amount_refunded: 1500 });
    const before = stack.upstream.requests.length;
    const rest = (await stripe.rawRequest('POST', `/v1/charges/${charge}/refunds`, {})) as unknown as { object: string; amount: number };
    expect(rest).toMatchObject({ object: 'refund', amount: 4500 });
    expect(seenSince(before)).toEqual([`GET /v1/charges/${charge}`, `POST /v1/charges/${charge}/refunds`]);
    expect(await rows(key.id)).toEqual([
      ['/v1/payment_intents', 200, 60_000_000, 60_000_000],
      ['/v1/refunds', 200, 10_000_000, 10_000_000],
      [`/v1/charges/${charge}/refund`, 200, 5_000_000, 5_000_000],
      [`/v1/charges/${charge}/refunds`, 200, 45_000_000, 45_000_000],
    ]);
    expect((await directSdk(stack).charges.retrieve(charge)).amount_refunded).toBe(6000);
    // a refund's update is metadata only: free
    await stripe.refunds.update(modern.id, { metadata: { reason_code: 'dup' } });
    expect((await rows(key.id)).at(-1)).toEqual([`/v1/refunds/${modern.id}`, 200, 0, 0]);
    expect(await spendMicros(stack, key.id)).toBe(120_000_000);
  });

  it('the legacy refund of the full remainder is refused when it does not fit the cap, before Stripe sees it', async () => {
    const payer = await issue(1000, REFUNDS);
    const intent = await payer.stripe.paymentIntents.create({ amount: 4000, currency: 'usd', confirm: true, payment_method: 'pm_card_visa' });
    const charge = String(intent.latest_charge);
    const refunder = await issue(30, ['POST /v1/charges/*/refund', 'POST /v1/charges/*/refunds']);
    for (const path of [`/v1/charges/${charge}/refund`, `/v1/charges/${charge}/refunds`]) {
      const before = stack.upstream.requests.length;
      const error = await sdkError(refunder.stripe.rawRequest('POST', path, {}));
      expect(error.code).toBe('keyleash_daily_cap_reached');
      expect(error.message).toContain('costs $40.00');
      expect(seenSince(before)).toEqual([`GET /v1/charges/${charge}`]);
    }
    expect((await directSdk(stack).charges.retrieve(charge)).amount_refunded).toBe(0);
    expect(await spendMicros(stack, refunder.key.id)).toBe(0);
  });

  it('after a partial capture, the remainder is what was captured', async () => {
    const { key, stripe } = await issue(1000, [...REFUNDS, 'POST /v1/payment_intents/*/capture']);
    const intent = await stripe.paymentIntents.create({ amount: 5000, currency: 'usd', capture_method: 'manual', confirm: true, payment_method: 'pm_card_visa' });
    await stripe.paymentIntents.capture(intent.id, { amount_to_capture: 2000 });
    const refund = (await stripe.rawRequest('POST', `/v1/charges/${String(intent.latest_charge)}/refunds`, {})) as unknown as { amount: number };
    expect(refund.amount).toBe(2000);
    expect((await rows(key.id)).at(-1)).toEqual([`/v1/charges/${String(intent.latest_charge)}/refunds`, 200, 20_000_000, 20_000_000]);
  });

  it('a legacy refund that also names a payment_intent, or a currency other than the charge’s, is refused as ambiguous', async () => {
    const { stripe } = await issue(1000, REFUNDS);
    const intent = await stripe.paymentIntents.create({ amount: 2000, currency: 'usd', confirm: true, payment_method: 'pm_card_visa' });
    const charge = String(intent.latest_charge);
    const both = await sdkError(stripe.rawRequest('POST', `/v1/charges/${charge}/refunds`, { payment_intent: intent.id }));
    expect(both.code).toBe('keyleash_ambiguous_request');
    expect(both.message).toContain('name only the charge');
    const currency = await sdkError(stripe.rawRequest('POST', `/v1/charges/${charge}/refunds`, { amount: 100, currency: 'jpy' }));
    expect(currency.code).toBe('keyleash_ambiguous_request');
    expect(currency.message).toContain('leave "currency" out');
    expect((await directSdk(stack).charges.retrieve(charge)).amount_refunded).toBe(0);
  });
});
