/** `/metrics` for Prometheus: what an operator scrapes next to the dashboard. */
import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminApi, startKeyleash, type KeyleashProcess } from '../support/keyleash-process.ts';
import { stripeThrough } from '../support/stripe-client.ts';
import { startFakeStripe, type FakeStripe } from '../upstreams/stripe/server.ts';

const SECRET = `sk_test_REALmetrics${randomBytes(8).toString('hex')}`;
let upstream: FakeStripe;
let keyleash: KeyleashProcess;

beforeAll(async () => {
  upstream = await startFakeStripe({ secret: SECRET });
  keyleash = await startKeyleash({ upstreams: { 'api.stripe.com': upstream.url }, env: { STRIPE_SECRET_KEY: SECRET } });
});
afterAll(async () => {
  await keyleash?.stop();
  await upstream?.close();
});

/** the value of one sample line, e.g. `keyleash_requests_total{vendor="stripe",decision="allowed",code="200"}` */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(match[3]);
  }
  return undefined;
}

describe('/metrics', () => {
  it('counts requests by vendor and decision, spend by vendor, reservation and upstream latency, and store errors', async () => {
    const key = await adminApi(keyleash).issue({ vendor: 'stripe', daily_usd_cap: 100, allowed_endpoints: ['POST /v1/payment_intents'], expires_in: '1h' });
    const stripe = stripeThrough(keyleash.url, key.vault_key);
    await stripe.paymentIntents.create({ amount: 2000, currency: 'usd' });
    await expect(stripe.customers.create({ email: 'a@example.com' })).rejects.toBeInstanceOf(Stripe.errors.StripeError);

    const response = await fetch(`${keyleash.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();

    expect(sample(text, 'keyleash_requests_total', { vendor: 'stripe', decision: 'allowed', code: '200' })).toBe(1);
    expect(sample(text, 'keyleash_requests_total', { vendor: 'stripe', decision: 'refused', code: 'keyleash_endpoint_not_allowed' })).toBe(1);
    expect(sample(text, 'keyleash_spend_micro_usd_total', { vendor: 'stripe' })).toBe(20_000_000);
    expect(sample(text, 'keyleash_reservation_seconds_count')).toBe(1);
    expect(sample(text, 'keyleash_reservation_seconds_bucket', { le: '+Inf' })).toBe(1);
    expect(sample(text, 'keyleash_upstream_seconds_count', { vendor: 'stripe' })).toBe(1);
    for (const operation of ['admit', 'settle', 'audit']) {
      expect(sample(text, 'keyleash_store_errors_total', { operation }), operation).toBe(0);
    }
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(key.vault_key);
  });
});
