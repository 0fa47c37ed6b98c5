/**
 * Several keyleash instances, one PostgreSQL ledger: three real `keyleash serve` processes on one
 * schema (started together on an empty schema, so the migration lock is exercised too), the
 * official Stripe SDK firing hundreds of concurrent creates spread across them.
 *
 * - caps are exact across instances: at a cap boundary exactly floor(cap / amount) creates
 *   succeed, for a single key and for a parent with children, five rounds each; what the
 *   upstream received equals what the ledger counts;
 * - a revocation through one instance is refused by the others on their very next request;
 * - SIGKILL of one instance mid-traffic loses no reservation (in-flight ones stay counted as
 *   held), leaves no half-written audit row, and the others carry on; the chain verifies.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeStripe, type FakeStripe } from '../upstreams/stripe/server.ts';
import { adminApi, REPO_ROOT, startKeyleash, type KeyleashProcess } from '../support/keyleash-process.ts';
import { stripeThrough } from '../support/stripe-client.ts';
import { createTestSchema, type TestSchema } from './pg-test-schema.ts';

const SECRET = 'sk_test_REALSECRET_multi_0123456789';
const ADMIN_TOKEN = `kla_multi_${Math.random().toString(36).slice(2)}`;
const USD = 1_000_000;

let upstream: FakeStripe;
let schema: TestSchema;
let instances: KeyleashProcess[] = [];

beforeAll(async () => {
  upstream = await startFakeStripe({ secret: SECRET });
  schema = await createTestSchema({ prefix: 'kl_multi' });
  const hosts = { 'api.stripe.com': upstream.url, 'files.stripe.com': upstream.url, 'connect.stripe.com': upstream.url };
  instances = await Promise.all(
    [0, 1, 2].map(() => startKeyleash({ storeUrl: `${schema.storeUrl}&pool_max=8`, adminToken: ADMIN_TOKEN, upstreams: hosts, env: { STRIPE_SECRET_KEY: SECRET } })),
  );
});

afterAll(async () => {
  await Promise.all(instances.map((instance) => instance.stop()));
  await upstream?.close();
  await schema?.drop();
});

const api = (i: number) => adminApi(instances[i]!);
const clients = new Map<string, Stripe>();
function stripeVia(i: number, vaultKey: string): Stripe {
  const id = `${i} ${vaultKey}`;
  if (!clients.has(id)) clients.set(id, stripeThrough(instances[i]!.url, vaultKey));
  return clients.get(id)!;
}

type Outcome = { ok: true; id: string } | { ok: false; code: string | undefined; message: string };

async function create(i: number, vaultKey: string, cents: number, tag: string): Promise<Outcome> {
  try {
    const intent = await stripeVia(i, vaultKey).paymentIntents.create({ amount: cents, currency: 'usd', metadata: { tag } });
    return { ok: true, id: intent.id };
  } catch (error) {
    const e = error as { code?: string; message?: string };
    return { ok: false, code: e.code, message: String(e.message) };
  }
}

function receivedWithTag(tag: string) {
  return upstream.requests.filter((r) => r.method === 'POST' && r.path === '/v1/payment_intents' && (r.form.metadata as Record<string, unknown> | undefined)?.tag === tag);
}

/** The ledger as PostgreSQL holds it, for a set of leaf keys. */
async function ledger(keyIds: string[]) {
  const { rows } = await schema.sql.query<{ status: string; n: number; micros: number }>(
    `SELECT status, count(*)::int AS n, coalesce(sum(amount_micros), 0)::bigint AS micros FROM "${schema.schema}".reservations WHERE key_id = ANY($1) GROUP BY status`,
    [keyIds],
  );
  const by = Object.fromEntries(rows.map((r) => [r.status, r]));
  return { held: by.held?.n ?? 0, settled: by.settled?.n ?? 0, released: by.released?.n ?? 0, kept: by.kept?.n ?? 0, micros: rows.reduce((s, r) => s + Number(r.micros), 0) };
}

async function spendOf(keyId: string): Promise<{ today_micros: number; total_micros: number }> {
  const result = await api(0).call('GET', `/api/vault_keys/${keyId}`);
  return result.body.spend;
}

async function verifyChainVia(i: number) {
  return api(i).call('GET', '/api/audit/verify');
}

const REQUESTS = 300;
const ROUNDS = 5;
const CENTS = 100; // $1 each

describe('three keyleash instances on one PostgreSQL', () => {
  it(`a single capped key: exactly the cap's worth of ${REQUESTS} concurrent creates succeed across the instances, ${ROUNDS} rounds`, async () => {
    const capUsd = 37;
    for (let round = 0; round < ROUNDS; round++) {
      const key = await api(round % 3).issue({ vendor: 'stripe', daily_usd_cap: capUsd, allowed_endpoints: ['POST /v1/payment_intents'], expires_in: '1h' });
      const tag = `single-${round}`;
      const outcomes = await Promise.all(Array.from({ length: REQUESTS }, (_, i) => create(i % 3, key.vault_key, CENTS, tag)));
      const succeeded = outcomes.filter((o) => o.ok);
      expect(succeeded.length, `round ${round}`).toBe(capUsd);
      for (const failure of outcomes.filter((o): o is Extract<Outcome, { ok: false }> => !o.ok)) expect(failure.code).toBe('keyleash_daily_cap_reached');
      // what the upstream received is what the ledger counts
      expect(receivedWithTag(tag).length).toBe(capUsd);
      expect(await ledger([key.id])).toEqual({ held: 0, settled: capUsd, released: 0, kept: 0, micros: capUsd * USD });
      expect(await spendOf(key.id)).toMatchObject({ today_micros: capUsd * USD, total_micros: capUsd * USD });
    }
  });

  it(`a parent with children: the parent cap binds exactly across children and instances, ${ROUNDS} rounds`, async () => {
    const parentCapUsd = 45;
    const childCapUsd = 20;
    for (let round = 0; round < ROUNDS; round++) {
      const parent = await api(0).issue({ vendor: 'stripe', daily_usd_cap: parentCapUsd, allowed_endpoints: ['POST /v1/payment_intents'], expires_in: '1h' });
      const children = await Promise.all(
        Array.from({ length: 4 }, (_, c) => api(c % 3).derive(parent.vault_key, { daily_usd_cap: childCapUsd, metadata: { child: String(c) } })),
      );
      const tag = `tree-${round}`;
      const outcomes = await Promise.all(
        Array.from({ length: REQUESTS }, (_, i) => create(i % 3, children[(i >> 1) % 4]!.vault_key, CENTS, tag).then((o) => ({ child: (i >> 1) % 4, o }))),
      );
      expect(outcomes.filter(({ o }) => o.ok).length, `round ${round}`).toBe(parentCapUsd);
      for (const { o } of outcomes) if (!o.ok) expect(['keyleash_daily_cap_reached']).toContain(o.code);
      for (let c = 0; c < 4; c++) {
        const admitted = outcomes.filter(({ child, o }) => child === c && o.ok).length;
        expect(admitted).toBeLessThanOrEqual(childCapUsd);
        expect((await spendOf(children[c]!.id)).today_micros).toBe(admitted * USD);
      }
      expect(receivedWithTag(tag).length).toBe(parentCapUsd);
      expect(await ledger(children.map((c) => c.id))).toEqual({ held: 0, settled: parentCapUsd, released: 0, kept: 0, micros: parentCapUsd * USD });
      expect(await spendOf(parent.id)).toMatchObject({ today_micros: parentCapUsd * USD });
    }
  });

  it('a revocation through instance A is refused by B and C on their next request', async () => {
    const root = await api(0).issue({ vendor: 'stripe', daily_usd_cap: 100, allowed_endpoints: ['POST /v1/payment_intents'], expires_in: '1h' });
    const child = await api(1).derive(root.vault_key, {});
    // every instance has served both keys (any cache would now be warm)
    for (let i = 0; i < 3; i++) {
      expect((await create(i, root.vault_key, CENTS, 'revoke-before')).ok).toBe(true);
      expect((await create(i, child.vault_key, CENTS, 'revoke-before')).ok).toBe(true);
    }
    const revoked = await api(0).call('POST', `/api/vault_keys/${root.id}/revoke`);
    expect(revoked.status).toBe(200);
    expect([...revoked.body.revoked_ids].sort()).toEqual([root.id, child.id].sort());
    for (const i of [1, 2, 0]) {
      for (const vaultKey of [child.vault_key, root.vault_key]) {
        const outcome = await create(i, vaultKey, CENTS, 'revoke-after');
        expect(outcome, `instance ${i}`).toMatchObject({ ok: false, code: 'keyleash_key_revoked' });
      }
    }
    expect(receivedWithTag('revoke-after')).toHaveLength(0);
  });

  it('SIGKILL of one instance mid-traffic: no reservation lost, no half-written audit row, the others continue', async () => {
    const key = await api(0).issue({ vendor: 'stripe', daily_usd_cap: 10_000, allowed_endpoints: ['POST /v1/payment_intents'], expires_in: '1h' });
    const victim = 2;
    const inFlight = 12;
    // the upstream holds the next requests, so the victim's are forwarded (reserved) but unanswered when it dies
    upstream.inject({ method: 'POST', pathPrefix: '/v1/payment_intents', delayMs: 3_000, times: inFlight });
    const victimRequests = Array.from({ length: inFlight }, () => create(victim, key.vault_key, CENTS, 'kill-inflight'));
    const deadline = Date.now() + 15_000;
    while (receivedWithTag('kill-inflight').length < inFlight) {
      if (Date.now() > deadline) throw new Error(`only ${receivedWithTag('kill-inflight').length} of ${inFlight} reached the upstream`);
      await new Promise((r) => setTimeout(r, 20));
    }
    // traffic everywhere, and the victim dies in the middle of it (some of its requests are
    // between admit and settle, some inside a store transaction)
    const survivors = Array.from({ length: 120 }, (_, i) => create(i % 2, key.vault_key, CENTS, 'kill-survivors'));
    const victimBurst = Array.from({ length: 60 }, () => create(victim, key.vault_key, CENTS, 'kill-burst'));
    await new Promise((r) => setTimeout(r, 40));
    await instances[victim]!.stop('SIGKILL');

    const survivorOutcomes = await Promise.all(survivors);
    expect(survivorOutcomes.filter((o) => !o.ok)).toEqual([]);
    const victimOutcomes = await Promise.all([...victimRequests, ...victimBurst]);
    expect(victimOutcomes.slice(0, inFlight).every((o) => !o.ok)).toBe(true);

    // the others continue, including after the fact
    const after = await Promise.all(Array.from({ length: 30 }, (_, i) => create(i % 2, key.vault_key, CENTS, 'kill-after')));
    expect(after.every((o) => o.ok)).toBe(true);

    // wait until PostgreSQL has rolled back whatever the victim had open
    const until = Date.now() + 15_000;
    for (;;) {
      const { rows } = await schema.sql.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'keyleash' AND state LIKE 'idle in transaction%'`);
      if (rows[0].n === 0) break;
      if (Date.now() > until) throw new Error('a dead instance left a transaction open');
      await new Promise((r) => setTimeout(r, 50));
    }

    const books = await ledger([key.id]);
    const received = ['kill-inflight', 'kill-survivors', 'kill-burst', 'kill-after'].reduce((n, tag) => n + receivedWithTag(tag).length, 0);
    // the in-flight requests stay counted as held reservations at their full amount
    expect(books.held).toBeGreaterThanOrEqual(inFlight);
    expect(books.released + books.kept).toBe(0);
    // every request that reached the upstream had a reservation; a reservation without an
    // upstream request is one the victim committed just before dying (still counted, held)
    expect(books.settled + books.held).toBeGreaterThanOrEqual(received);
    expect(books.settled).toBeLessThanOrEqual(received);
    expect(books.micros).toBe((books.settled + books.held) * USD);
    expect(await spendOf(key.id)).toMatchObject({ today_micros: books.micros, total_micros: books.micros });

    // no half-written audit row: exactly one row per ended reservation, none for the held ones
    const { rows: auditRows } = await schema.sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "${schema.schema}".audit WHERE vault_key_id = $1 AND decision = 'allowed'`,
      [key.id],
    );
    expect(auditRows[0]!.n).toBe(books.settled);
    // every row under its own seq, in one chain per instance that wrote
    const extent = await schema.sql.query<{ count: number; seqs: number; chains: number }>(
      `SELECT count(*)::int AS count, count(DISTINCT seq)::int AS seqs, count(DISTINCT chain_id)::int AS chains FROM "${schema.schema}".audit`,
    );
    expect(extent.rows[0]!.seqs).toBe(extent.rows[0]!.count);
    expect(extent.rows[0]!.chains).toBeGreaterThanOrEqual(2);

    // the chain still verifies, from either survivor
    for (const i of [0, 1]) {
      const verified = await verifyChainVia(i);
      expect(verified.status).toBe(200);
      expect(verified.body).toMatchObject({ ok: true, rows: extent.rows[0]!.count });
    }
  });

  it('`keyleash audit verify` passes after all that traffic, and fails at a tampered row', async () => {
    const cli = (...args: string[]) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'packages/proxy/src/cli/main.ts'), '--url', instances[1]!.url, ...args], {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH ?? '', KEYLEASH_ADMIN_TOKEN: ADMIN_TOKEN },
      });
    const intact = await cli('audit', 'verify');
    expect(intact.stdout).toMatch(/audit log intact: \d+ rows in \d+ hash chains?, every link verified/);
    const { rows } = await schema.sql.query<{ seq: number }>(`SELECT seq FROM "${schema.schema}".audit ORDER BY seq LIMIT 1 OFFSET 100`);
    const seq = rows[0]!.seq;
    await schema.sql.query(`ALTER TABLE "${schema.schema}".audit DISABLE TRIGGER audit_no_update`);
    await schema.sql.query(`UPDATE "${schema.schema}".audit SET settled_micros = settled_micros + 1 WHERE seq = $1`, [seq]);
    const tampered = await cli('audit', 'verify').then(
      () => undefined,
      (error: { code?: number; stdout?: string }) => error,
    );
    expect(tampered?.code).toBe(1);
    expect(tampered?.stdout).toContain(`audit log TAMPERED: row ${seq}`);
  });
});
