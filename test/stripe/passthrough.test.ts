/**
 * Allowed traffic: the official SDK works through keyleash unchanged, the upstream sees the real
 * secret in place of the vault key, and everything else the SDK sends arrives byte-for-byte.
 */
import { describe, expect, it } from 'vitest';
import { auditOf, sdk, useStripeStack, vaultKeySecret, type SentRequest } from './harness.ts';

const stack = useStripeStack({ label: 'pass' });

const vaultKeys: string[] = [];

async function issue(policy: Record<string, unknown> = {}) {
  const key = await stack.api.issue({
    vendor: 'stripe',
    daily_usd_cap: 1000,
    allowed_endpoints: ['POST /v1/payment_intents', 'POST /v1/payment_intents/*/confirm', 'GET /v1/payment_intents/*', 'POST /v1/customers', 'GET /v1/customers', 'GET /v1/customers/*'],
    expires_in: '1h',
    metadata: { role: 'billing' },
    ...policy,
  });
  vaultKeys.push(key.vault_key);
  return key;
}

describe('allowed calls through keyleash', () => {
  it('return the SDK’s normal objects for creates, reads, lists and confirms', async () => {
    const key = await issue();
    const stripe = sdk(stack.keyleash.url, key.vault_key);
    const customer = await stripe.customers.create({ email: 'ada@example.com', metadata: { tier: 'gold' } });
    expect(customer).toMatchObject({ object: 'customer', email: 'ada@example.com', metadata: { tier: 'gold' } });
    expect(customer.id).toMatch(/^cus_/);
    const fetched = await stripe.customers.retrieve(customer.id);
    expect(fetched).toMatchObject({ id: customer.id, email: 'ada@example.com' });
    const list = await stripe.customers.list({ limit: 3 });
    expect(list.object).toBe('list');
    expect(list.data.map((c) => c.id)).toContain(customer.id);

    const intent = await stripe.paymentIntents.create({ amount: 2000, currency: 'usd', customer: customer.id });
    expect(intent).toMatchObject({ object: 'payment_intent', amount: 2000, currency: 'usd', status: 'requires_payment_method', customer: customer.id });
    const confirmed = await stripe.paymentIntents.confirm(intent.id, { payment_method: 'pm_card_visa' });
    expect(confirmed).toMatchObject({ id: intent.id, status: 'succeeded', amount_received: 2000 });
    expect((await stripe.paymentIntents.retrieve(intent.id)).status).toBe('succeeded');
  });

  it('send the real secret upstream in place of the vault key, on every request', async () => {
    const key = await issue();
    const stripe = sdk(stack.keyleash.url, key.vault_key);
    const before = stack.upstream.requests.length;
    await stripe.paymentIntents.create({ amount: 1234, currency: 'usd', description: 'secret check' });
    await stripe.customers.list({ limit: 1 });
    const seen = stack.upstream.requests.slice(before);
    expect(seen.length).toBe(2);
    for (const request of seen) expect(request.headers.authorization).toBe(`Bearer ${stack.secret}`);
  });

  it('pass Stripe-Version, Idempotency-Key, user agents and the body through unchanged, and strip keyleash-* headers', async () => {
    const key = await issue();
    const sent: SentRequest[] = [];
    const stripe = sdk(stack.keyleash.url, key.vault_key, { record: sent, apiVersion: '2025-03-31.basil' });
    const before = stack.upstream.requests.length;
    const intent = await stripe.paymentIntents.create(
      { amount: 4200, currency: 'eur', metadata: { order: 'A-1', 'agent role': 'billing' }, description: 'nested & spaced', expand: ['customer', 'latest_charge'] },
      {
        idempotencyKey: 'order-A-1-attempt',
        apiVersion: '2024-06-20',
        headers: { 'Keyleash-Agent': 'billing-bot', 'Keyleash-Run-Id': 'run-42', 'Keyleash-Tool': 'create_payment', 'Keyleash-Tool-Call-Id': 'call_9' },
      },
    );
    expect(intent.amount).toBe(4200);

    const [received] = stack.upstream.requests.slice(before);
    const [wire] = sent;
    expect(received).toBeDefined();
    expect(wire).toBeDefined();
    expect(received!.headers['stripe-version']).toBe('2024-06-20');
    expect(received!.headers['idempotency-key']).toBe('order-A-1-attempt');
    expect(received!.headers['user-agent']).toMatch(/^Stripe\/v1 NodeBindings\//);
    expect(received!.rawBody).toBe(wire!.body);
    // every header the SDK sent reaches Stripe with the same value, except the credential and
    // keyleash's own attribution headers
    for (const [name, value] of Object.entries(wire!.headers)) {
      if (name === 'authorization' || name.startsWith('keyleash-') || name === 'content-length' || name === 'connection') continue;
      expect(received!.headers[name], `header ${name}`).toBe(value);
    }
    expect(Object.keys(received!.headers).filter((name) => name.startsWith('keyleash-'))).toEqual([]);
    expect(wire!.headers['keyleash-agent']).toBe('billing-bot');

    // …and keyleash recorded the attribution and the upstream's request id
    const row = (await auditOf(stack, key.id)).at(-1)!;
    expect(row.attribution).toEqual({ agent: 'billing-bot', run_id: 'run-42', tool: 'create_payment', tool_call_id: 'call_9' });
    expect(row.idempotency_key).toBe('order-A-1-attempt');
    expect(row.upstream_request_id).toBe(intent.lastResponse.requestId);
    expect(intent.lastResponse.requestId).toMatch(/^req_/);
  });

  it('passes an allowed Stripe-Account through, and the vendor-prefixed route works too', async () => {
    const key = await issue({ stripe_accounts: ['acct_1ConnectedOk'] });
    const stripe = sdk(stack.keyleash.url, key.vault_key);
    const before = stack.upstream.requests.length;
    await stripe.customers.create({ email: 'c@example.com' }, { stripeAccount: 'acct_1ConnectedOk' });
    expect(stack.upstream.requests[before]!.headers['stripe-account']).toBe('acct_1ConnectedOk');

    const viaPrefix = await fetch(`${stack.keyleash.url}/stripe/v1/customers?limit=1`, { headers: { authorization: `Bearer ${key.vault_key}` } });
    expect(viaPrefix.status).toBe(200);
    expect(((await viaPrefix.json()) as { object: string }).object).toBe('list');
    const last = stack.upstream.requests.at(-1)!;
    expect(last.url).toBe('/v1/customers?limit=1');
    expect(last.headers.authorization).toBe(`Bearer ${stack.secret}`);
  });

  it('forwards a path spelled with percent-encoded unreserved characters in its one canonical form', async () => {
    const key = await issue();
    const before = stack.upstream.requests.length;
    const answer = await fetch(`${stack.keyleash.url}/v1/payment_%69ntents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.vault_key}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'amount=700&currency=usd',
    });
    expect(answer.status).toBe(200);
    expect(stack.upstream.requests.slice(before).map((r) => r.path)).toEqual(['/v1/payment_intents']);
  });

  it('never lets a vault key or a keyleash-* header reach the upstream (checked over every request this file sent)', () => {
    expect(stack.upstream.requests.length).toBeGreaterThan(5);
    for (const request of stack.upstream.requests) {
      expect(request.headers.authorization).toBe(`Bearer ${stack.secret}`);
      const everything = `${request.url}\n${JSON.stringify(request.headers)}\n${request.rawBody}`;
      expect(everything).not.toMatch(/vk_[a-z2-7]{16}/);
      for (const vaultKey of vaultKeys) expect(everything).not.toContain(vaultKeySecret(vaultKey));
      expect(Object.keys(request.headers).filter((name) => name.startsWith('keyleash'))).toEqual([]);
    }
  });
});
