/**
 * Every refusal class: the official SDK raises the right error class with the `keyleash_…` code,
 * the message says what to do, nothing reaches the upstream, and the SDK does not retry.
 */
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { auditOf, sdk, sdkError, sleep, unknownVaultKey, useStripeStack } from './harness.ts';

const stack = useStripeStack({ label: 'refuse' });

const PI_ONLY = ['POST /v1/payment_intents'];

async function issue(policy: Record<string, unknown> = {}) {
  return stack.api.issue({ vendor: 'stripe', daily_usd_cap: 100, allowed_endpoints: PI_ONLY, expires_in: '1h', metadata: { role: 'refusals' }, ...policy });
}

/** Runs the call and proves it raised, and that the upstream received nothing meanwhile. */
async function refusedWithoutUpstream(call: () => Promise<unknown>) {
  const before = stack.upstream.requests.length;
  const error = await sdkError(call());
  expect(stack.upstream.requests.length).toBe(before);
  return error;
}

describe('refusals raise in the SDK and reach no upstream', () => {
  it('an unknown vault key raises StripeAuthenticationError keyleash_unknown_key', async () => {
    const error = await refusedWithoutUpstream(() => sdk(stack.keyleash.url, unknownVaultKey()).paymentIntents.create({ amount: 700, currency: 'usd' }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect(error.code).toBe('keyleash_unknown_key');
    expect(error.statusCode).toBe(401);
  });

  it('a real-looking Stripe secret instead of a vault key raises keyleash_unknown_key', async () => {
    const error = await refusedWithoutUpstream(() => sdk(stack.keyleash.url, 'sk_test_notAVaultKey123').paymentIntents.create({ amount: 700, currency: 'usd' }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect(error.code).toBe('keyleash_unknown_key');
  });

  it('a known key id with the wrong secret raises keyleash_unknown_key', async () => {
    const key = await issue();
    const forged = `${key.vault_key.slice(0, key.vault_key.lastIndexOf('_') + 1)}${'a'.repeat(40)}`;
    const error = await refusedWithoutUpstream(() => sdk(stack.keyleash.url, forged).paymentIntents.create({ amount: 700, currency: 'usd' }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect(error.code).toBe('keyleash_unknown_key');
  });

  it('a revoked key raises StripeAuthenticationError keyleash_key_revoked', async () => {
    const key = await issue();
    const stripe = sdk(stack.keyleash.url, key.vault_key);
    await stripe.paymentIntents.create({ amount: 700, currency: 'usd' });
    const revoked = await stack.api.call('POST', `/api/vault_keys/${key.id}/revoke`);
    expect(revoked.status).toBe(200);
    const error = await refusedWithoutUpstream(() => stripe.paymentIntents.create({ amount: 700, currency: 'usd' }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect(error.code).toBe('keyleash_key_revoked');
    expect(error.message).toMatch(/do not retry/i);
  });

  it('an expired key raises StripeAuthenticationError keyleash_key_expired', async () => {
    const key = await issue({ expires_in: undefined, expires_at: new Date(Date.now() + 1000).toISOString() });
    const stripe = sdk(stack.keyleash.url, key.vault_key);
    await stripe.paymentIntents.create({ amount: 700, currency: 'usd' });
    while (Date.now() <= Date.parse(key.expires_at as string) + 50) await sleep(100);
    const error = await refusedWithoutUpstream(() => stripe.paymentIntents.create({ amount: 700, currency: 'usd' }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect(error.code).toBe('keyleash_key_expired');
  });

  it('an endpoint outside the allowlist raises StripePermissionError keyleash_endpoint_not_allowed', async () => {
    const key = await issue();
    const error = await refusedWithoutUpstream(() => sdk(stack.keyleash.url, key.vault_key).customers.create({ email: 'x@example.com' }));
    expect(error).toBeInstanceOf(Stripe.errors.StripePermissionError);
    expect(error.code).toBe('keyleash_endpoint_not_allowed');
    expect(error.message).toContain('POST /v1/customers');
  });

  it('a request over the daily cap raises StripePermissionError keyleash_daily_cap_reached with the numbers', async () => {
    const key = await issue({ daily_usd_cap: 10 });
    const stripe = sdk(stack.keyleash.url, key.vault_key);
    await stripe.paymentIntents.create({ amount: 700, currency: 'usd' });
    const error = await refusedWithoutUpstream(() => stripe.paymentIntents.create({ amount: 700, currency: 'usd' }));
    expect(error).toBeInstanceOf(Stripe.errors.StripePermissionError);
    expect(error.code).toBe('keyleash_daily_cap_reached');
    expect(error.message).toContain('$10.00');
    expect(error.message).toContain('$7.00');
    expect(error.message).toMatch(/do not retry/i);
  });

  it('a request over the lifetime cap raises keyleash_total_cap_reached', async () => {
    const key = await issue({ daily_usd_cap: null, total_usd_cap: 5 });
    const error = await refusedWithoutUpstream(() => sdk(stack.keyleash.url, key.vault_key).paymentIntents.create({ amount: 700, currency: 'usd' }));
    expect(error).toBeInstanceOf(Stripe.errors.StripePermissionError);
    expect(error.code).toBe('keyleash_total_cap_reached');
  });

  it('too many requests in a minute raise StripeRateLimitError keyleash_rate_limited', async () => {
    const key = await issue({ allowed_endpoints: ['GET /v1/customers'], rate_limit: { requests_per_minute: 3 } });
    const stripe = sdk(stack.keyleash.url, key.vault_key);
    const before = stack.upstream.requests.length;
    // 7 calls: at most 3 fit in one fixed minute window, at most 6 if the calls straddle two
    const outcomes = [];
    for (let i = 0; i < 7; i++) outcomes.push(await stripe.customers.list({ limit: 1 }).then(() => 'ok', (error: unknown) => error));
    const refused = outcomes.filter((o) => o !== 'ok') as InstanceType<typeof Stripe.errors.StripeError>[];
    expect(refused.length).toBeGreaterThanOrEqual(1);
    for (const error of refused) {
      expect(error).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
      expect(error.code).toBe('keyleash_rate_limited');
    }
    expect(stack.upstream.requests.length - before).toBe(7 - refused.length);
  });

  it('an unpriced money-moving endpoint under a capped key raises keyleash_unpriced_endpoint', async () => {
    const key = await issue({ allowed_endpoints: ['POST /v1/subscriptions', 'POST /v1/invoices/*/send'] });
    const stripe = sdk(stack.keyleash.url, key.vault_key);
    const subscription = await refusedWithoutUpstream(() => stripe.subscriptions.create({ customer: 'cus_123', items: [{ price: 'price_123' }] }));
    expect(subscription).toBeInstanceOf(Stripe.errors.StripePermissionError);
    expect(subscription.code).toBe('keyleash_unpriced_endpoint');
    const send = await refusedWithoutUpstream(() => stripe.invoices.sendInvoice('in_1Unpriced'));
    expect(send).toBeInstanceOf(Stripe.errors.StripePermissionError);
    expect(send.code).toBe('keyleash_unpriced_endpoint');
    expect(send.message).toContain('asks the customer to pay the invoice');
    // what to do: the exact policy entry that would allow it
    expect(send.message).toContain('"unpriced": {"POST /v1/invoices/*/send":"free"}');
  });

  it('an unpriced endpoint the policy declares free is forwarded and costs nothing', async () => {
    const key = await issue({ allowed_endpoints: ['POST /v1/invoices/*/send'], unpriced: { 'POST /v1/invoices/*/send': 'free' } });
    const before = stack.upstream.requests.length;
    const invoice = await sdk(stack.keyleash.url, key.vault_key).invoices.sendInvoice('in_1SentFree');
    expect(invoice.object).toBe('invoice');
    expect(stack.upstream.requests.slice(before).map((r) => `${r.method} ${r.path}`)).toEqual(['POST /v1/invoices/in_1SentFree/send']);
    const [row] = await auditOf(stack, key.id);
    expect(row).toMatchObject({ decision: 'allowed', reserved_micros: 0, settled_micros: 0 });
  });

  it('an unpriced endpoint with a fixed policy price is counted at that price', async () => {
    const key = await issue({ allowed_endpoints: ['POST /v1/invoices/*/send'], unpriced: { 'POST /v1/invoices/*/send': 2.5 } });
    await sdk(stack.keyleash.url, key.vault_key).invoices.sendInvoice('in_1SentFixed');
    const [row] = await auditOf(stack, key.id);
    expect(row).toMatchObject({ decision: 'allowed', reserved_micros: 2_500_000, settled_micros: 2_500_000 });
  });

  it('a Stripe-Account the policy does not list raises StripePermissionError keyleash_account_not_allowed', async () => {
    const pinned = await issue({ stripe_accounts: ['acct_1Allowed'] });
    const error = await refusedWithoutUpstream(() =>
      sdk(stack.keyleash.url, pinned.vault_key).paymentIntents.create({ amount: 700, currency: 'usd' }, { stripeAccount: 'acct_1Someone' }),
    );
    expect(error).toBeInstanceOf(Stripe.errors.StripePermissionError);
    expect(error.code).toBe('keyleash_account_not_allowed');

    const platformOnly = await issue();
    const other = await refusedWithoutUpstream(() =>
      sdk(stack.keyleash.url, platformOnly.vault_key).paymentIntents.create({ amount: 700, currency: 'usd' }, { stripeAccount: 'acct_1Allowed' }),
    );
    expect(other.code).toBe('keyleash_account_not_allowed');
  });

  it('refusals are Stripe-shaped and carry Stripe-Should-Retry: false', async () => {
    const response = await fetch(`${stack.keyleash.url}/v1/payment_intents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${unknownVaultKey()}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'amount=700&currency=usd',
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('stripe-should-retry')).toBe('false');
    const body = (await response.json()) as { error: { type: string; code: string; message: string } };
    expect(body.error).toMatchObject({ type: 'invalid_request_error', code: 'keyleash_unknown_key' });
    expect(body.error.message.length).toBeGreaterThan(20);
  });
});

describe('the SDK does not retry a refusal, even with retries enabled', () => {
  async function auditCount(query = '') {
    return (await stack.api.audit(query)).length;
  }

  it('sends a refused request once (cap, allowlist, rate limit, unpriced, account, revoked)', async () => {
    const capped = await issue({ daily_usd_cap: 5 });
    const limited = await issue({ allowed_endpoints: ['GET /v1/customers'], rate_limit: { requests_per_minute: 1 } });
    const unpriced = await issue({ allowed_endpoints: ['POST /v1/subscriptions'] });
    const revoked = await issue();
    await stack.api.call('POST', `/api/vault_keys/${revoked.id}/revoke`);

    const cases: [string, () => Promise<unknown>, string][] = [
      [capped.id, () => sdk(stack.keyleash.url, capped.vault_key, { maxNetworkRetries: 2 }).paymentIntents.create({ amount: 700, currency: 'usd' }), 'keyleash_daily_cap_reached'],
      [capped.id, () => sdk(stack.keyleash.url, capped.vault_key, { maxNetworkRetries: 2 }).customers.create({}), 'keyleash_endpoint_not_allowed'],
      [capped.id, () => sdk(stack.keyleash.url, capped.vault_key, { maxNetworkRetries: 2 }).paymentIntents.create({ amount: 7, currency: 'usd' }, { stripeAccount: 'acct_1Nope' }), 'keyleash_account_not_allowed'],
      [unpriced.id, () => sdk(stack.keyleash.url, unpriced.vault_key, { maxNetworkRetries: 2 }).subscriptions.create({ customer: 'cus_1' }), 'keyleash_unpriced_endpoint'],
      [revoked.id, () => sdk(stack.keyleash.url, revoked.vault_key, { maxNetworkRetries: 2 }).paymentIntents.create({ amount: 700, currency: 'usd' }), 'keyleash_key_revoked'],
    ];
    for (const [keyId, call, code] of cases) {
      const before = await auditCount(`vault_key_id=${keyId}`);
      const upstreamBefore = stack.upstream.requests.length;
      const error = await sdkError(call());
      expect(error.code).toBe(code);
      expect(await auditCount(`vault_key_id=${keyId}`), code).toBe(before + 1);
      expect(stack.upstream.requests.length).toBe(upstreamBefore);
    }

    // rate limit: the first call uses the minute's only slot (unless the minute turns over, then retry once)
    const limitedSdk = sdk(stack.keyleash.url, limited.vault_key, { maxNetworkRetries: 2 });
    await limitedSdk.customers.list();
    let refused: InstanceType<typeof Stripe.errors.StripeError> | undefined;
    for (let attempt = 0; attempt < 3 && !refused; attempt++) {
      const before = await auditCount(`vault_key_id=${limited.id}`);
      const outcome = await limitedSdk.customers.list().then(
        () => undefined,
        (error: InstanceType<typeof Stripe.errors.StripeError>) => error,
      );
      expect(await auditCount(`vault_key_id=${limited.id}`)).toBe(before + 1);
      refused = outcome;
    }
    expect(refused?.code).toBe('keyleash_rate_limited');

    // an unknown key has no key id to filter on: count every row
    const before = await auditCount();
    await sdkError(sdk(stack.keyleash.url, unknownVaultKey(), { maxNetworkRetries: 2 }).paymentIntents.create({ amount: 700, currency: 'usd' }));
    expect(await auditCount()).toBe(before + 1);
  });
});
