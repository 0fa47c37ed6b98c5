/**
 * Free Stripe operations carrying money parameters, through the official SDK (and raw HTTP for what
 * the SDK would never send) into a real keyleash and the fake Stripe: a capped key cannot move
 * money through an operation that is free without them, in the body or the query string, at any
 * depth; waived parameters still pass.
 */
import Stripe from 'stripe';
import { beforeAll, describe, expect, it } from 'vitest';
import { auditOf, directSdk, raw, sdk, sdkError, useStripeStack } from './harness.ts';

const stack = useStripeStack({ label: 'money' });

const ENDPOINTS = ['POST /v1/customers', 'POST /v1/customers/*', 'POST /v1/payment_intents', 'POST /v1/payment_intents/*', 'POST /v1/prices', 'POST /v1/coupons', 'POST /v1/sources', 'POST /v1/subscriptions'];

async function issue(policy: Record<string, unknown> = {}) {
  return stack.api.issue({ vendor: 'stripe', daily_usd_cap: 100, allowed_endpoints: ENDPOINTS, expires_in: '1h', metadata: { role: 'money-params' }, ...policy });
}

let customerId: string;
beforeAll(async () => {
  customerId = (await directSdk(stack).customers.create({ email: 'victim@example.com' })).id;
});

/** Runs the call, proves it raised and that the upstream received nothing meanwhile. */
async function refusedWithoutUpstream(call: () => Promise<unknown>) {
  const before = stack.upstream.requests.length;
  const error = await sdkError(call());
  expect(stack.upstream.requests.slice(before)).toEqual([]);
  return error;
}

function rawPost(vaultKey: string, path: string, body: string) {
  return raw(stack.keyleash.url, {
    method: 'POST',
    path,
    headers: { authorization: `Bearer ${vaultKey}`, 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
}

async function rawRefusedWithoutUpstream(vaultKey: string, path: string, body: string) {
  const before = stack.upstream.requests.length;
  const answer = await rawPost(vaultKey, path, body);
  expect(answer.status, answer.text).toBeGreaterThanOrEqual(400);
  expect(answer.headers['stripe-should-retry']).toBe('false');
  expect(stack.upstream.requests.slice(before)).toEqual([]);
  return answer.json.error as { code: string; message: string };
}

describe('a $5,000 customer credit under a $100 key', () => {
  it('is refused before Stripe sees it, naming the parameter and the policy entry that would allow it', async () => {
    const key = await issue();
    const error = await refusedWithoutUpstream(() => sdk(stack.keyleash.url, key.vault_key).customers.update(customerId, { balance: -500000 }));
    expect(error).toBeInstanceOf(Stripe.errors.StripePermissionError);
    expect(error.code).toBe('keyleash_unpriced_endpoint');
    expect(error.message).toContain('"balance"');
    expect(error.message).toContain('"unpriced": {"POST /v1/customers/*":"free"}');
    expect(error.message).toMatch(/do not retry/i);
    expect((await directSdk(stack).customers.retrieve(customerId)) as Stripe.Customer).toMatchObject({ balance: 0 });
    const [row] = await auditOf(stack, key.id);
    expect(row).toMatchObject({ decision: 'refused', reason: 'keyleash_unpriced_endpoint' });
  });

  it('is refused when the balance hides in the query string of an otherwise free update', async () => {
    const key = await issue();
    const error = await rawRefusedWithoutUpstream(key.vault_key, `/v1/customers/${customerId}?balance=-500000`, 'email=new%40example.com');
    expect(error.code).toBe('keyleash_unpriced_endpoint');
    expect(error.message).toContain('"balance"');
  });

  it('is refused at creation too', async () => {
    const key = await issue();
    const error = await refusedWithoutUpstream(() => sdk(stack.keyleash.url, key.vault_key).customers.create({ email: 'x@example.com', balance: -500000 }));
    expect(error.code).toBe('keyleash_unpriced_endpoint');
  });

  it('goes through, counted at the fixed price, when the policy entry the refusal named is added', async () => {
    const key = await issue({ unpriced: { 'POST /v1/customers/*': 2.5 } });
    const updated = await sdk(stack.keyleash.url, key.vault_key).customers.update(customerId, { balance: -100 });
    expect(updated.balance).toBe(-100);
    const [row] = await auditOf(stack, key.id);
    expect(row).toMatchObject({ decision: 'allowed', reserved_micros: 2_500_000, settled_micros: 2_500_000 });
  });

  it('an update without a money parameter stays free and is forwarded', async () => {
    const key = await issue();
    const updated = await sdk(stack.keyleash.url, key.vault_key).customers.update(customerId, { email: 'ok@example.com', metadata: { amount: '5' } });
    expect(updated.email).toBe('ok@example.com');
    const [row] = await auditOf(stack, key.id);
    expect(row).toMatchObject({ decision: 'allowed', reserved_micros: 0, settled_micros: 0 });
  });
});

describe('the query string is read like the body', () => {
  it('a PaymentIntent update with ?amount=500000 is refused and never reaches Stripe', async () => {
    const key = await issue();
    const intent = await sdk(stack.keyleash.url, key.vault_key).paymentIntents.create({ amount: 100, currency: 'usd' });
    const error = await rawRefusedWithoutUpstream(key.vault_key, `/v1/payment_intents/${intent.id}?amount=500000`, 'description=raise');
    // the ledger pricer refuses any query string on the calls it prices
    expect(error.code).toMatch(/^keyleash_(ambiguous_request|unpriced_endpoint)$/);
    expect((await directSdk(stack).paymentIntents.retrieve(intent.id)).amount).toBe(100);
  });

  it('a parameter named in the body and in the query string is refused as ambiguous, naming it', async () => {
    const key = await issue();
    const error = await rawRefusedWithoutUpstream(key.vault_key, `/v1/customers/${customerId}?email=a%40example.com`, 'email=b%40example.com');
    expect(error.code).toBe('keyleash_ambiguous_request');
    expect(error.message).toContain('"email"');
    expect(error.message).toMatch(/send it once/);
  });

  it('a free parameter in the query string is forwarded as sent', async () => {
    const key = await issue();
    const before = stack.upstream.requests.length;
    const answer = await rawPost(key.vault_key, `/v1/customers/${customerId}?description=from-query`, 'email=q%40example.com');
    expect(answer.status, answer.text).toBe(200);
    expect(stack.upstream.requests.slice(before).map((r) => r.url)).toEqual([`/v1/customers/${customerId}?description=from-query`]);
  });
});

describe('nested money parameters', () => {
  it('a money parameter deep inside a free operation is refused, named by its full path', async () => {
    const key = await issue();
    const error = await rawRefusedWithoutUpstream(key.vault_key, '/v1/sources', 'type=ach_credit_transfer&currency=usd&source_order[items][0][amount]=500000&source_order[items][0][type]=sku');
    expect(error.code).toBe('keyleash_unpriced_endpoint');
    expect(error.message).toContain('"source_order[items][0][amount]"');
    expect(error.message).toContain('"unpriced": {"POST /v1/sources":"free"}');
  });

  it('a subscription with inline prices (items[0][price_data][unit_amount]) is refused, saying why subscriptions are unpriced', async () => {
    const key = await issue();
    const error = await refusedWithoutUpstream(() =>
      sdk(stack.keyleash.url, key.vault_key).subscriptions.create({
        customer: customerId,
        items: [{ price_data: { currency: 'usd', product: 'prod_1', unit_amount: 500000, recurring: { interval: 'month' } } }],
      }),
    );
    expect(error.code).toBe('keyleash_unpriced_endpoint');
    expect(error.message).toContain('subscription');
    expect(error.message).toContain('"unpriced": {"POST /v1/subscriptions":"free"}');
  });
});

describe('waived money parameters', () => {
  it('a catalogue price (unit_amount) and a coupon (amount_off) are forwarded free', async () => {
    const key = await issue();
    const stripe = sdk(stack.keyleash.url, key.vault_key);
    const before = stack.upstream.requests.length;
    const price = await stripe.prices.create({ unit_amount: 500000, currency: 'usd', product: 'prod_1', currency_options: { eur: { unit_amount: 450000 } } });
    expect(price.object).toBe('price');
    const coupon = await stripe.coupons.create({ amount_off: 500, currency: 'usd', duration: 'once' });
    expect(coupon.object).toBe('coupon');
    expect(stack.upstream.requests.slice(before).map((r) => `${r.method} ${r.path}`)).toEqual(['POST /v1/prices', 'POST /v1/coupons']);
    const rows = await auditOf(stack, key.id);
    expect(rows.map((row) => [row.decision, row.reserved_micros])).toEqual([
      ['allowed', 0],
      ['allowed', 0],
    ]);
  });
});
