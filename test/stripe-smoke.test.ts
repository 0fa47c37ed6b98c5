import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeStripe, type FakeStripe } from './upstreams/stripe/server.ts';
import { adminApi, startKeyleash, type KeyleashProcess } from './support/keyleash-process.ts';
import { stripeThrough } from './support/stripe-client.ts';

const SECRET = 'sk_test_REALSECRET_smoke_0123456789';
let upstream: FakeStripe;
let keyleash: KeyleashProcess;

beforeAll(async () => {
  upstream = await startFakeStripe({ secret: SECRET });
  keyleash = await startKeyleash({ upstreams: { 'api.stripe.com': upstream.url, 'files.stripe.com': upstream.url, 'connect.stripe.com': upstream.url }, env: { STRIPE_SECRET_KEY: SECRET } });
});
afterAll(async () => {
  await keyleash?.stop();
  await upstream?.close();
});

describe('smoke', () => {
  it('creates a payment intent through the proxy with the official SDK', async () => {
    const api = adminApi(keyleash);
    const key = await api.issue({ vendor: 'stripe', daily_usd_cap: 100, allowed_endpoints: ['POST /v1/payment_intents'], expires_in: '1h', metadata: { role: 'billing' } });
    const stripe = stripeThrough(keyleash.url, key.vault_key);
    const intent = await stripe.paymentIntents.create({ amount: 2000, currency: 'usd' });
    expect(intent.amount).toBe(2000);
    expect(upstream.requests.at(-1)!.headers.authorization).toBe(`Bearer ${SECRET}`);
  });
});
