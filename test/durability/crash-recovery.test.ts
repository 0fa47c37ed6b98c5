/**
 * Durability across a crash, through a real `keyleash serve` killed with SIGKILL, on SQLite and on
 * PostgreSQL, with the official Stripe SDK:
 *
 * - killed between reserve and forward (the upstream never saw the request), and between forward
 *   and settle (the upstream has it, keyleash never learnt the answer): after a restart on the
 *   same store the ledger counts every such request in full, each has its audit row (outcome
 *   unknown, cost kept), nothing is left held, and `keyleash audit verify` passes;
 * - killed at an arbitrary instant under load (32 clients): the ledger counts at least what the
 *   upstream saw, and every request the upstream saw has an audit row after the restart.
 *
 * The instants are pinned without any hook in keyleash: a TCP gate in front of the upstream that
 * holds the bytes (reserve -> forward), the fake Stripe holding its answer (forward -> settle).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type Stripe from 'stripe';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestSchema, type TestSchema } from '../postgres/pg-test-schema.ts';
import { adminApi, REPO_ROOT, startKeyleash, type KeyleashProcess } from '../support/keyleash-process.ts';
import { stripeThrough } from '../support/stripe-client.ts';
import { startTcpGate, type TcpGate } from '../support/tcp-gate.ts';
import { startFakeStripe, type FakeStripe } from '../upstreams/stripe/server.ts';

const SECRET = 'sk_test_REALSECRET_crash_0123456789';
const ADMIN_TOKEN = `kla_crash_${Math.random().toString(36).slice(2)}`;
const USD = 1_000_000;
// (the root workspace has better-sqlite3 but not its types: only a count is read here)
const Database = createRequire(import.meta.url)('better-sqlite3') as new (path: string, options: { readonly: boolean }) => {
  prepare(sql: string): { get(): unknown };
  close(): void;
};

let upstream: FakeStripe;
const running: KeyleashProcess[] = [];
const gates: TcpGate[] = [];

beforeAll(async () => {
  upstream = await startFakeStripe({ secret: SECRET });
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop('SIGKILL')));
  await Promise.all(gates.splice(0).map((g) => g.close()));
});
afterAll(async () => {
  await upstream?.close();
});

interface StoreUnderTest {
  url: string;
  /** reservations still held, read behind keyleash's back */
  held(): Promise<number>;
  drop(): Promise<void>;
}

async function sqliteStore(): Promise<StoreUnderTest> {
  const path = join(mkdtempSync(join(tmpdir(), 'keyleash-crash-')), 'keyleash.db');
  return {
    url: `sqlite:${path}`,
    async held() {
      const db = new Database(path, { readonly: true });
      try {
        return (db.prepare("SELECT count(*) AS n FROM reservations WHERE status = 'held'").get() as { n: number }).n;
      } finally {
        db.close();
      }
    },
    async drop() {},
  };
}

async function postgresStore(): Promise<StoreUnderTest> {
  const schema: TestSchema = await createTestSchema({ prefix: 'kl_crash' });
  return {
    url: schema.storeUrl,
    async held() {
      const { rows } = await schema.sql.query(`SELECT count(*)::int AS n FROM "${schema.schema}".reservations WHERE status = 'held'`);
      return rows[0].n as number;
    },
    drop: () => schema.drop(),
  };
}

async function serve(store: StoreUnderTest, stripeUrl: string): Promise<KeyleashProcess> {
  const process = await startKeyleash({ storeUrl: store.url, adminToken: ADMIN_TOKEN, upstreams: { 'api.stripe.com': stripeUrl }, env: { STRIPE_SECRET_KEY: SECRET } });
  running.push(process);
  return process;
}

async function kill(process: KeyleashProcess): Promise<void> {
  await process.stop('SIGKILL');
  running.splice(running.indexOf(process), 1);
}

async function until(condition: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function create(stripe: Stripe, idempotencyKey: string): Promise<unknown> {
  return stripe.paymentIntents.create({ amount: 100, currency: 'usd' }, { idempotencyKey }).catch((error: unknown) => error);
}

/** idempotency keys of the creates the upstream received, for one test's prefix */
function seenUpstream(prefix: string): string[] {
  return upstream.requests
    .filter((r) => r.method === 'POST' && r.path === '/v1/payment_intents')
    .map((r) => String(r.headers['idempotency-key'] ?? ''))
    .filter((key) => key.startsWith(prefix));
}

async function afterRestart(proxy: KeyleashProcess, keyId: string) {
  const api = adminApi(proxy);
  const audit = await api.audit(`vault_key_id=${keyId}`);
  const spend = (await api.call('GET', `/api/vault_keys/${keyId}`)).body.spend as { today_micros: number; total_micros: number };
  const verify = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'packages/proxy/src/cli/main.ts'), '--url', proxy.url, 'audit', 'verify'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', KEYLEASH_ADMIN_TOKEN: ADMIN_TOKEN },
  });
  return { audit, spend, verify: verify.stdout };
}

describe.each([
  ['SQLite', sqliteStore],
  ['PostgreSQL', postgresStore],
])('SIGKILL of keyleash, restart on the same %s store', (_name, makeStore) => {
  let store: StoreUnderTest;
  beforeAll(async () => {
    store = await makeStore();
  });
  afterAll(async () => {
    await store?.drop();
  });

  async function issue(proxy: KeyleashProcess) {
    return adminApi(proxy).issue({ vendor: 'stripe', daily_usd_cap: 100_000, allowed_endpoints: ['POST /v1/payment_intents'], expires_in: '1h' });
  }

  it('killed between reserve and forward: the requests stay counted and are audited as outcome unknown', async () => {
    const gate = await startTcpGate(upstream.url, { holding: true });
    gates.push(gate);
    const proxy = await serve(store, gate.url);
    const key = await issue(proxy);
    const stripe = stripeThrough(proxy.url, key.vault_key);
    const prefix = `rf-${Date.now()}-`;
    const calls = Array.from({ length: 4 }, (_, i) => create(stripe, `${prefix}${i}`));
    // all four reserved and on their way, none arrived
    await until(() => gate.heldRequests() >= 4, 'four requests at the gate');
    await kill(proxy);
    await Promise.all(calls);
    expect(seenUpstream(prefix)).toEqual([]);

    const restarted = await serve(store, upstream.url);
    const { audit, spend, verify } = await afterRestart(restarted, key.id);
    expect(spend).toMatchObject({ today_micros: 4 * USD, total_micros: 4 * USD });
    expect(audit.map((row) => row.idempotency_key).sort()).toEqual([0, 1, 2, 3].map((i) => `${prefix}${i}`));
    for (const row of audit) {
      expect(row).toMatchObject({ decision: 'allowed', reason: 'outcome_unknown_kept', status: 0, method: 'POST', path: '/v1/payment_intents', reserved_micros: USD, settled_micros: USD });
    }
    expect(await store.held()).toBe(0);
    expect(verify).toMatch(/audit log intact: \d+ rows in \d+ hash chains?, every link verified/);
  });

  it('killed between forward and settle: every request the upstream has is counted and audited', async () => {
    const proxy = await serve(store, upstream.url);
    const key = await issue(proxy);
    const stripe = stripeThrough(proxy.url, key.vault_key);
    const prefix = `fs-${Date.now()}-`;
    // the upstream takes the requests and holds its answers
    upstream.inject({ method: 'POST', pathPrefix: '/v1/payment_intents', delayMs: 5_000, times: 4 });
    const calls = Array.from({ length: 4 }, (_, i) => create(stripe, `${prefix}${i}`));
    await until(() => seenUpstream(prefix).length >= 4, 'four requests at the upstream');
    await kill(proxy);
    await Promise.all(calls);

    const restarted = await serve(store, upstream.url);
    const { audit, spend, verify } = await afterRestart(restarted, key.id);
    const seen = seenUpstream(prefix);
    expect(seen).toHaveLength(4);
    expect(spend.today_micros).toBe(4 * USD);
    expect(audit.map((row) => row.idempotency_key).sort()).toEqual([...seen].sort());
    for (const row of audit) expect(row).toMatchObject({ reason: 'outcome_unknown_kept', status: 0, settled_micros: USD });
    expect(await store.held()).toBe(0);
    expect(verify).toMatch(/audit log intact: \d+ rows in \d+ hash chains?, every link verified/);
  });

  it('killed at an arbitrary instant under load: counted >= forwarded, and every forwarded request has an audit row', async () => {
    const proxy = await serve(store, upstream.url);
    const key = await issue(proxy);
    const prefix = `load-${Date.now()}-`;
    let stop = false;
    let n = 0;
    const clients = Array.from({ length: 32 }, async () => {
      const stripe = stripeThrough(proxy.url, key.vault_key);
      while (!stop) {
        const outcome = await create(stripe, `${prefix}${n++}`);
        if (outcome instanceof Error) return;
      }
    });
    await until(() => seenUpstream(prefix).length >= 40, 'traffic');
    await new Promise((r) => setTimeout(r, 300 + Math.random() * 700));
    await kill(proxy);
    stop = true;
    await Promise.all(clients);

    const restarted = await serve(store, upstream.url);
    const { audit, spend, verify } = await afterRestart(restarted, key.id);
    const seen = seenUpstream(prefix);
    // every create is $1: the ledger never counts less than what reached the upstream
    expect(spend.today_micros).toBeGreaterThanOrEqual(seen.length * USD);
    // and the audit holds a row for every one of them (settled before the kill, or recovered)
    const audited = new Set(audit.map((row) => row.idempotency_key));
    expect(seen.filter((idempotencyKey) => !audited.has(idempotencyKey))).toEqual([]);
    // what the audit says was counted is what the ledger counts
    expect(audit.reduce((sum, row) => sum + row.settled_micros, 0)).toBe(spend.today_micros);
    expect(await store.held()).toBe(0);
    expect(verify).toMatch(/audit log intact: \d+ rows in \d+ hash chains?, every link verified/);
  });
});
