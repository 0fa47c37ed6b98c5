/**
 * Fail closed: when the ledger cannot be read or written, keyleash refuses and sends nothing
 * upstream; when the upstream does not answer in time, the reservation stays counted. Run
 * in-process (createKeyleash) so the store can be made to fail on demand.
 */
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Stripe from 'stripe';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createKeyleash, type Keyleash, type KeyleashOptions } from '../../packages/proxy/src/server.ts';
import { SqliteStore } from '../../packages/proxy/src/stores/sqlite/sqlite-store.ts';
import { adminApi } from '../support/keyleash-process.ts';
import { startFakeStripe, type FakeStripe } from '../upstreams/stripe/server.ts';
import { sdk, sdkError } from './harness.ts';

type Store = KeyleashOptions['store'];
type StoreMethod = 'admit' | 'getKeyChain' | 'settle' | 'appendAudit';

const SECRET = 'sk_test_REALfailclosed0123456789abcdef';
const ADMIN = 'kla_test_failclosed';

let upstream: FakeStripe;
let real: SqliteStore;
let keyleash: Keyleash;
let url: string;
const failing = new Set<StoreMethod>();
const calls: Record<StoreMethod, number> = { admit: 0, getKeyChain: 0, settle: 0, appendAudit: 0 };
const logs: string[] = [];

/** The real SQLite store, with chosen methods made to throw, the way a lost database would. */
function flakyStore(inner: SqliteStore): Store {
  return new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      const name = property as StoreMethod;
      return (...args: unknown[]) => {
        if (name in calls) calls[name]++;
        if (failing.has(name)) return Promise.reject(new Error(`SQLITE_IOERR: disk I/O error in ${name}`));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as Store;
}

/** A pino-shaped logger that keeps every line, for the secret checks. */
function capturingLogger(): NonNullable<KeyleashOptions['logger']> {
  const write = (level: string) => (...args: unknown[]) => {
    logs.push(`${level} ${args.map((a) => (a instanceof Error ? `${a.message}\n${a.stack}` : JSON.stringify(a, (_k, v: unknown) => (v instanceof Error ? { message: v.message, stack: v.stack } : v)))).join(' ')}`);
  };
  const logger: Record<string, unknown> = { level: 'trace' };
  for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal']) logger[level] = write(level);
  logger.child = () => logger;
  return logger as unknown as NonNullable<KeyleashOptions['logger']>;
}

beforeAll(async () => {
  upstream = await startFakeStripe({ secret: SECRET });
  real = new SqliteStore(join(mkdtempSync(join(tmpdir(), 'keyleash-failclosed-')), 'keyleash.db'));
  keyleash = createKeyleash({
    store: flakyStore(real),
    adminToken: ADMIN,
    upstreams: new Map([['api.stripe.com', upstream.url]]),
    env: { STRIPE_SECRET_KEY: SECRET },
    upstreamTimeoutMs: 300,
    logger: capturingLogger(),
  });
  await new Promise<void>((resolve) => keyleash.server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(keyleash.server.address() as AddressInfo).port}`;
});
afterEach(() => failing.clear());
afterAll(async () => {
  await keyleash?.close();
  await real?.close();
  await upstream?.close();
});

const api = () => adminApi({ url, adminToken: ADMIN });

async function issue(policy: Record<string, unknown> = {}) {
  return api().issue({ vendor: 'stripe', daily_usd_cap: 100, allowed_endpoints: ['POST /v1/payment_intents'], expires_in: '1h', metadata: { role: 'fail-closed' }, ...policy });
}

describe('fail closed', () => {
  it('refuses with keyleash_store_unavailable when the reservation cannot be written, and sends nothing upstream', async () => {
    const key = await issue();
    const stripe = sdk(url, key.vault_key, { maxNetworkRetries: 2 });
    failing.add('admit');
    const before = upstream.requests.length;
    const admitsBefore = calls.admit;
    const error = await sdkError(stripe.paymentIntents.create({ amount: 700, currency: 'usd' }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeAPIError);
    expect(error.code).toBe('keyleash_store_unavailable');
    expect(error.statusCode).toBe(503);
    expect(error.headers?.['stripe-should-retry']).toBe('false');
    expect(upstream.requests.length).toBe(before);
    // the SDK, allowed 2 retries, did not retry: keyleash tried to admit exactly once
    expect(calls.admit - admitsBefore).toBe(1);
  });

  it('refuses with keyleash_store_unavailable when the key cannot be looked up', async () => {
    const key = await issue();
    failing.add('getKeyChain');
    const before = upstream.requests.length;
    const error = await sdkError(sdk(url, key.vault_key).paymentIntents.create({ amount: 700, currency: 'usd' }));
    expect(error.code).toBe('keyleash_store_unavailable');
    expect(upstream.requests.length).toBe(before);
  });

  it('still refuses (not forwards) a refusal whose audit row cannot be written', async () => {
    const key = await issue({ daily_usd_cap: 1 });
    failing.add('appendAudit');
    const before = upstream.requests.length;
    const error = await sdkError(sdk(url, key.vault_key).paymentIntents.create({ amount: 700, currency: 'usd' }));
    expect(error.code).toBe('keyleash_daily_cap_reached');
    expect(upstream.requests.length).toBe(before);
  });

  it('works again once the store is back', async () => {
    const key = await issue();
    const intent = await sdk(url, key.vault_key).paymentIntents.create({ amount: 700, currency: 'usd' });
    expect(intent.amount).toBe(700);
  });

  it('a settlement that cannot be written leaves the money counted (the reservation stays held)', async () => {
    const key = await issue();
    failing.add('settle');
    const intent = await sdk(url, key.vault_key).paymentIntents.create({ amount: 1100, currency: 'usd' });
    expect(intent.amount).toBe(1100);
    failing.clear();
    const spend = await api().call('GET', `/api/vault_keys/${key.id}`);
    expect(spend.body.spend.today_micros).toBe(11_000_000);
  });
});

describe('an upstream that does not answer in time', () => {
  it('raises in the SDK without a retry, and keeps the reservation counted (the payment may have happened)', async () => {
    const key = await issue();
    const stripe = sdk(url, key.vault_key, { maxNetworkRetries: 2 });
    upstream.inject({ method: 'POST', pathPrefix: '/v1/payment_intents', delayMs: 3_000, times: 5 });
    const before = upstream.requests.length;
    const error = await sdkError(stripe.paymentIntents.create({ amount: 2200, currency: 'usd' }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeAPIError);
    expect(error.code).toBe('keyleash_upstream_unreachable');
    expect(error.message).toMatch(/stays counted/);
    expect(upstream.requests.length - before).toBe(1);
    const spend = await api().call('GET', `/api/vault_keys/${key.id}`);
    expect(spend.body.spend.today_micros).toBe(22_000_000);
    const [row] = await api().audit(`vault_key_id=${key.id}`);
    expect(row).toMatchObject({ decision: 'allowed', reason: 'upstream_unreachable_kept', reserved_micros: 22_000_000, settled_micros: 22_000_000 });
  });

  it('logged the failures without the real secret or any vault key secret', () => {
    const text = logs.join('\n');
    expect(text).toMatch(/store unavailable|upstream request failed/);
    expect(text).not.toContain(SECRET);
    expect(text).not.toMatch(/vk_[a-z2-7]{16}_[a-z2-7]{40}/);
  });
});
