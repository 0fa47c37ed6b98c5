import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseUrlEncoded } from './form.ts';
import { maskKey, startFakeStripe } from './server.ts';
import type { FakeStripe } from './server.ts';

const SECRET = 'sk_test_fakeStripeSecret0000001234';

let fake: FakeStripe;
let stripe: Stripe;

const client = (key: string, extra: Partial<Stripe.StripeConfig> = {}) =>
  new Stripe(key, { host: '127.0.0.1', port: fake.port, protocol: 'http', maxNetworkRetries: 0, telemetry: false, ...extra });

beforeAll(async () => {
  fake = await startFakeStripe({ secret: SECRET });
  stripe = client(SECRET);
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

describe('fake Stripe upstream, driven by the official SDK', () => {
  it('creates and retrieves a PaymentIntent, keeping the request parameters', async () => {
    const pi = await stripe.paymentIntents.create({ amount: 2000, currency: 'usd', metadata: { order: '42' } });
    expect(pi.id).toMatch(/^pi_[A-Za-z0-9]{24}$/);
    expect(pi).toMatchObject({ object: 'payment_intent', amount: 2000, currency: 'usd', status: 'requires_payment_method' });
    expect(pi.metadata).toEqual({ order: '42' });
    expect(pi.client_secret).toMatch(new RegExp(`^${pi.id}_secret_`));
    expect(Math.abs(pi.created - Date.now() / 1000)).toBeLessThan(60);
    expect(pi.lastResponse.requestId).toMatch(/^req_/);

    const again = await stripe.paymentIntents.retrieve(pi.id);
    expect(again).toMatchObject({ id: pi.id, amount: 2000, metadata: { order: '42' } });

    const rec = fake.requests[0];
    expect(rec).toMatchObject({ method: 'POST', path: '/v1/payment_intents', form: { amount: '2000', metadata: { order: '42' } } });
    expect(rec?.headers.authorization).toBe(`Bearer ${SECRET}`);
  });

  it('updates amount and currency only before authorisation, then grows a held one with increment_authorization', async () => {
    const pi = await stripe.paymentIntents.create({ amount: 1000, currency: 'usd', capture_method: 'manual' });
    expect(await stripe.paymentIntents.update(pi.id, { amount: 1500, currency: 'EUR' })).toMatchObject({ amount: 1500, currency: 'eur' });
    await stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_visa' });
    const late = await stripe.paymentIntents.update(pi.id, { amount: 9000 }).catch((e: unknown) => e);
    expect(late).toMatchObject({ code: 'payment_intent_unexpected_state', statusCode: 400 });
    expect(await stripe.paymentIntents.update(pi.id, { description: 'metadata-like fields stay updatable' })).toMatchObject({ amount: 1500 });

    const down = await stripe.paymentIntents.incrementAuthorization(pi.id, { amount: 1500 }).catch((e: unknown) => e);
    expect(down).toMatchObject({ code: 'parameter_invalid_integer', param: 'amount' });
    expect(await stripe.paymentIntents.incrementAuthorization(pi.id, { amount: 2500 })).toMatchObject({ amount: 2500, amount_capturable: 2500 });
    const partial = await stripe.paymentIntents.capture(pi.id, { amount_to_capture: 1000 });
    expect(partial).toMatchObject({ status: 'succeeded', amount_received: 1000 });
    const after = await stripe.paymentIntents.incrementAuthorization(pi.id, { amount: 3000 }).catch((e: unknown) => e);
    expect(after).toMatchObject({ code: 'payment_intent_unexpected_state' });
    // a charge's refunds: what was captured, by the legacy paths too
    const charge = String(partial.latest_charge);
    const refund = (await stripe.rawRequest('POST', `/v1/charges/${charge}/refunds`, { amount: 400 })) as unknown as Record<string, unknown>;
    expect(refund).toMatchObject({ object: 'refund', amount: 400, charge });
    const legacy = (await stripe.rawRequest('POST', `/v1/charges/${charge}/refund`, {})) as unknown as Record<string, unknown>;
    expect(legacy).toMatchObject({ object: 'charge', amount_refunded: 1000, refunded: true });
  });

  it('confirms into a succeeded PaymentIntent with a stored charge', async () => {
    const pi = await stripe.paymentIntents.create({ amount: 1500, currency: 'eur' });
    const done = await stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_visa' });
    expect(done).toMatchObject({ status: 'succeeded', amount_received: 1500, payment_method: 'pm_card_visa' });
    const charge = await stripe.charges.retrieve(String(done.latest_charge));
    expect(charge).toMatchObject({ amount: 1500, currency: 'eur', captured: true, payment_intent: pi.id, amount_refunded: 0 });
    const expanded = await stripe.paymentIntents.retrieve(pi.id, { expand: ['latest_charge'] });
    expect(expanded.latest_charge).toMatchObject({ id: charge.id, object: 'charge' });

    await expect(stripe.paymentIntents.confirm(pi.id)).rejects.toMatchObject({
      type: 'StripeInvalidRequestError',
      code: 'payment_intent_unexpected_state',
    });
  });

  it('captures part of a manual-capture PaymentIntent', async () => {
    const pi = await stripe.paymentIntents.create({ amount: 3000, currency: 'usd', capture_method: 'manual', confirm: true, payment_method: 'pm_card_visa' });
    expect(pi).toMatchObject({ status: 'requires_capture', amount_capturable: 3000 });
    const captured = await stripe.paymentIntents.capture(pi.id, { amount_to_capture: 1200 });
    expect(captured).toMatchObject({ status: 'succeeded', amount_received: 1200, amount_capturable: 0 });
  });

  it('refunds the remainder when no amount is given, and refuses to over-refund', async () => {
    const pi = await stripe.paymentIntents.create({ amount: 5000, currency: 'usd', confirm: true, payment_method: 'pm_card_visa' });
    const partial = await stripe.refunds.create({ payment_intent: pi.id, amount: 1000 });
    expect(partial).toMatchObject({ amount: 1000, payment_intent: pi.id, status: 'succeeded' });

    const rest = await stripe.refunds.create({ payment_intent: pi.id });
    expect(rest.amount).toBe(4000);
    const charge = await stripe.charges.retrieve(String(pi.latest_charge));
    expect(charge).toMatchObject({ amount_refunded: 5000, refunded: true });

    await expect(stripe.refunds.create({ charge: charge.id, amount: 1 })).rejects.toMatchObject({
      type: 'StripeInvalidRequestError',
      code: 'charge_already_refunded',
    });

    const other = await stripe.paymentIntents.create({ amount: 700, currency: 'usd', confirm: true, payment_method: 'pm_card_visa' });
    await expect(stripe.refunds.create({ payment_intent: other.id, amount: 800 })).rejects.toMatchObject({
      code: 'amount_too_large',
      statusCode: 400,
    });
    const refunds = await stripe.refunds.list({ payment_intent: pi.id });
    expect(refunds.data.map((r) => r.amount)).toEqual([4000, 1000]);
  });

  it('replays an idempotent POST without creating a second object', async () => {
    const first = await stripe.customers.create({ email: 'a@example.com' }, { idempotencyKey: 'idem-1' });
    const second = await stripe.customers.create({ email: 'a@example.com' }, { idempotencyKey: 'idem-1' });
    expect(second.id).toBe(first.id);
    expect(second.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect((await stripe.customers.list()).data).toHaveLength(1);
    expect(fake.requests).toHaveLength(3);

    await expect(stripe.customers.create({ email: 'b@example.com' }, { idempotencyKey: 'idem-1' })).rejects.toMatchObject({
      type: 'StripeIdempotencyError',
      rawType: 'idempotency_error',
    });
  });

  it('rejects unknown, missing and mistyped parameters like Stripe', async () => {
    await expect(
      stripe.paymentIntents.create({ amount: 100, currency: 'usd', bogus_param: 1 } as Stripe.PaymentIntentCreateParams),
    ).rejects.toMatchObject({
      type: 'StripeInvalidRequestError',
      code: 'parameter_unknown',
      param: 'bogus_param',
      message: 'Received unknown parameter: bogus_param',
    });
    await expect(stripe.payouts.create({ currency: 'usd' } as Stripe.PayoutCreateParams)).rejects.toMatchObject({
      code: 'parameter_missing',
      param: 'amount',
    });
    await expect(
      stripe.paymentIntents.create({ amount: 'ten' as unknown as number, currency: 'usd' }),
    ).rejects.toMatchObject({ code: 'parameter_invalid_integer', param: 'amount' });
    await expect(stripe.customers.retrieve('cus_missing')).rejects.toMatchObject({ code: 'resource_missing', statusCode: 404 });
    // Each request was recorded, rejected ones included.
    expect(fake.requests).toHaveLength(4);
  });

  it('rejects a wrong key without echoing it', async () => {
    const wrong = 'sk_test_someoneElsesKeyABCDEF9876';
    const err = await client(wrong).balance.retrieve().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    const message = (err as Stripe.errors.StripeError).message;
    expect(message).toBe('Invalid API Key provided: sk_test_****9876');
    expect(message).not.toContain(wrong);
    expect(maskKey('vk_short')).toBe('vk_****');
  });

  it('answers injected failures, then recovers', async () => {
    fake.inject({ method: 'POST', pathPrefix: '/v1/payment_intents', status: 500 });
    const err = await stripe.paymentIntents.create({ amount: 100, currency: 'usd' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Stripe.errors.StripeAPIError);
    expect((err as Stripe.errors.StripeError).statusCode).toBe(500);
    await expect(stripe.paymentIntents.create({ amount: 100, currency: 'usd' })).resolves.toMatchObject({ amount: 100 });
  });

  it('delays injected responses long enough to time the client out', async () => {
    fake.inject({ pathPrefix: '/v1/balance', delayMs: 2000 });
    const err = await client(SECRET, { timeout: 200 }).balance.retrieve().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Stripe.errors.StripeConnectionError);
  });

  it('serves stateless operations from the fixtures, stripe-mock style', async () => {
    const invoice = await stripe.invoices.pay('in_123');
    expect(invoice).toMatchObject({ id: 'in_123', object: 'invoice' });
    const products = await stripe.products.list({ limit: 3 });
    expect(products).toMatchObject({ object: 'list', has_more: false, url: '/v1/products' });
    expect(products.data[0]?.object).toBe('product');
  });

  it('serves the files and connect hosts on the same port', async () => {
    const file = await stripe.files.create({
      purpose: 'dispute_evidence',
      file: { data: Buffer.from('hello'), name: 'evidence.txt', type: 'text/plain' },
    });
    expect(file.object).toBe('file');
    expect(fake.requests.at(-1)?.form).toMatchObject({
      purpose: 'dispute_evidence',
      file: { filename: 'evidence.txt', contentType: 'text/plain', size: 5 },
    });
    const token = await stripe.oauth.token({ grant_type: 'authorization_code', code: 'ac_123' });
    expect(token.stripe_user_id).toMatch(/^acct_/);
  });
});

describe('form parsing', () => {
  it('parses the SDK encoding into nested objects and arrays', () => {
    expect(
      parseUrlEncoded('email=a%40b.c&metadata[foo]=bar&metadata[agent%20role]=billing&expand[0]=default_source&expand[1]=tax&items[]=x&__proto__[polluted]=1'),
    ).toEqual({
      email: 'a@b.c',
      metadata: { foo: 'bar', 'agent role': 'billing' },
      expand: ['default_source', 'tax'],
      items: ['x'],
    });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
