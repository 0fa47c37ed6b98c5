/**
 * Authentication reads key chains from a cache of recently verified keys; revocation must still
 * take effect on the very next request. Here the revocation happens behind the serving process's
 * back (straight in the store, as another instance or process on the same store would do it),
 * after the key was used, so the cache holds it as active: the next request is refused with
 * keyleash_key_revoked and nothing reaches Stripe, not even a pricing lookup.
 */
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createKeyleash, type Keyleash } from '../../packages/proxy/src/server.ts';
import { SqliteStore } from '../../packages/proxy/src/stores/sqlite/sqlite-store.ts';
import { adminApi } from '../support/keyleash-process.ts';
import { startFakeStripe, type FakeStripe } from '../upstreams/stripe/server.ts';
import { sdk, sdkError } from './harness.ts';

const SECRET = 'sk_test_REALrevocationcache0123456789';
const ADMIN = 'kla_test_revocationcache';

let upstream: FakeStripe;
let store: SqliteStore;
let keyleash: Keyleash;
let url: string;

beforeAll(async () => {
  upstream = await startFakeStripe({ secret: SECRET });
  store = new SqliteStore(join(mkdtempSync(join(tmpdir(), 'keyleash-revocation-')), 'keyleash.db'));
  keyleash = createKeyleash({ store, adminToken: ADMIN, upstreams: new Map([['api.stripe.com', upstream.url]]), env: { STRIPE_SECRET_KEY: SECRET } });
  await new Promise<void>((resolve) => keyleash.server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(keyleash.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await keyleash?.close();
  await store?.close();
  await upstream?.close();
});

const api = () => adminApi({ url, adminToken: ADMIN });
const POLICY = { vendor: 'stripe', daily_usd_cap: 100, allowed_endpoints: ['POST /v1/payment_intents', 'POST /v1/refunds'], expires_in: '1h' };

it('a key revoked behind the process after it was used is refused on its next request, and on the one after', async () => {
  const key = await api().issue(POLICY);
  const stripe = sdk(url, key.vault_key);
  for (let i = 0; i < 3; i++) await stripe.paymentIntents.create({ amount: 500, currency: 'usd' });
  await store.revokeTree(key.id, Date.now());
  const before = upstream.requests.length;
  for (let i = 0; i < 2; i++) {
    const error = await sdkError(stripe.paymentIntents.create({ amount: 500, currency: 'usd' }));
    expect(error.code).toBe('keyleash_key_revoked');
  }
  expect(upstream.requests.length).toBe(before);
});

it("a child key whose ancestor is revoked behind the process is refused on its next request", async () => {
  const root = await api().issue(POLICY);
  const child = await api().derive(root.vault_key, { daily_usd_cap: 10 });
  const stripe = sdk(url, child.vault_key);
  await stripe.paymentIntents.create({ amount: 500, currency: 'usd' });
  await store.revokeTree(root.id, Date.now());
  const before = upstream.requests.length;
  const error = await sdkError(stripe.paymentIntents.create({ amount: 500, currency: 'usd' }));
  expect(error.code).toBe('keyleash_key_revoked');
  expect(upstream.requests.length).toBe(before);
});

it('a revoked key whose request needs a pricing lookup at Stripe is refused before the lookup', async () => {
  const key = await api().issue(POLICY);
  const stripe = sdk(url, key.vault_key);
  const intent = await stripe.paymentIntents.create({ amount: 500, currency: 'usd', confirm: true, payment_method: 'pm_card_visa' });
  await store.revokeTree(key.id, Date.now());
  const before = upstream.requests.length;
  const error = await sdkError(stripe.refunds.create({ payment_intent: intent.id }));
  expect(error.code).toBe('keyleash_key_revoked');
  // not the refund, and not the GET of the PaymentIntent that would price it
  expect(upstream.requests.slice(before)).toEqual([]);
});
