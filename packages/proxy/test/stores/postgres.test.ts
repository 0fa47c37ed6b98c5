import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { describe, expect, it, vi } from 'vitest';
import { auditHash, GENESIS_HASH, verifyAuditLog, type AuditEntry, type Store, type VaultKeyRecord } from '@keyleash/core';
import { auditEntryToRow } from '../../src/stores/rows.ts';
import { PostgresStore } from '../../src/stores/postgres/postgres-store.ts';
import { LATEST_POSTGRES_VERSION, POSTGRES_MIGRATIONS } from '../../src/stores/postgres/schema.ts';
import { parsePostgresUrl } from '../../src/stores/postgres/connection.ts';
import { connectTestDatabase, createTestSchema, TEST_PG_URL } from '../../../../test/postgres/pg-test-schema.ts';
import { describeStoreConformance } from './store-conformance.ts';

describeStoreConformance('postgres', async () => {
  const schema = await createTestSchema({ prefix: 'kl_conf' });
  // a small pool per store (a store and a peer per block): plenty of interleaving, few connections
  const url = `${schema.storeUrl}&pool_max=5`;
  const store = await PostgresStore.connect(url);
  const peers: Store[] = [];
  return {
    store,
    async openPeer() {
      const peer = await PostgresStore.connect(url);
      peers.push(peer);
      return peer;
    },
    async tamperAudit(seq) {
      await schema.sql.query(`ALTER TABLE "${schema.schema}".audit DISABLE TRIGGER audit_no_update`);
      await schema.sql.query(`UPDATE "${schema.schema}".audit SET reason = 'tampered' WHERE seq = $1`, [seq]);
    },
    async attemptAuditRewrite(seq) {
      await schema.sql.query(`UPDATE "${schema.schema}".audit SET reason = 'rewritten' WHERE seq = $1`, [seq]);
    },
    async close() {
      for (const peer of peers) await peer.close();
      await store.close();
      await schema.drop();
    },
  };
});

describe('postgres store specifics', () => {
  it('reads ?schema= and ?pool_max= and passes every other parameter to pg unchanged', () => {
    const location = parsePostgresUrl('postgres://u:secret@db.example:6432/keyleash?sslmode=require&schema=tenant_1&options=-c%20statement_timeout%3D5s&pool_max=25');
    expect(location).toEqual({
      connectionString: 'postgres://u:secret@db.example:6432/keyleash?sslmode=require&options=-c%20statement_timeout%3D5s',
      schema: 'tenant_1',
      poolMax: 25,
      preparedStatements: true,
      display: 'db.example:6432/keyleash (schema tenant_1)',
    });
    expect(location.display).not.toContain('secret');
    expect(parsePostgresUrl('postgresql://localhost/db')).toMatchObject({ connectionString: 'postgresql://localhost/db', schema: undefined, poolMax: 10 });
    expect(() => parsePostgresUrl('postgres://localhost/db?schema=bad;name')).toThrow(/schema name/);
    expect(() => parsePostgresUrl('postgres://localhost/db?pool_max=0')).toThrow(/pool_max/);
    expect(parsePostgresUrl('postgres://localhost/db?prepared_statements=false').preparedStatements).toBe(false);
    expect(() => parsePostgresUrl('postgres://localhost/db?prepared_statements=no')).toThrow(/prepared_statements/);
  });

  it('creates a missing schema, and migrates exactly once when several instances start together', async () => {
    const schema = await createTestSchema({ prefix: 'kl_mig' });
    try {
      const stores = await Promise.all(Array.from({ length: 6 }, () => PostgresStore.connect(schema.storeUrl, { migrate: false })));
      const reports = await Promise.all(stores.map((s) => s.runMigrations()));
      expect(reports.filter((r) => r.applied.length > 0)).toHaveLength(1);
      expect(reports.every((r) => r.version === LATEST_POSTGRES_VERSION)).toBe(true);
      const { rows } = await schema.sql.query(`SELECT version FROM "${schema.schema}".schema_migrations ORDER BY version`);
      expect(rows).toEqual(POSTGRES_MIGRATIONS.map((m) => ({ version: m.version })));
      // the stores work on the schema they migrated together
      const record = await stores[3]!.appendAudit({ at: 1, vaultKeyId: null, rootKeyId: null, metadata: {}, vendor: 'stripe', method: 'GET', path: '/v1/x', status: 200, decision: 'allowed', reason: null, reservedMicros: 0, settledMicros: 0, upstreamRequestId: null, idempotencyKey: null, latencyMs: 0, attribution: {} });
      expect(record.seq).toBe(1);
      await Promise.all(stores.map((s) => s.close()));
    } finally {
      await schema.drop();
    }
  });

  it('`keyleash migrate --store postgres://…` applies the migrations once, however many run at once', async () => {
    const schema = await createTestSchema({ prefix: 'kl_cli' });
    try {
      const repo = join(import.meta.dirname, '../../../..');
      const migrate = () =>
        promisify(execFile)(process.execPath, ['--import', 'tsx', join(repo, 'packages/proxy/src/cli/main.ts'), 'migrate', '--store', schema.storeUrl], {
          cwd: repo,
          env: { PATH: process.env.PATH ?? '' },
        });
      const outputs = (await Promise.all([migrate(), migrate(), migrate()])).map((r) => r.stdout);
      const all = POSTGRES_MIGRATIONS.map((m) => m.version).join(', ');
      expect(outputs.filter((o) => o.includes(`(applied ${all})`))).toHaveLength(1);
      expect(outputs.filter((o) => o.includes('(nothing to apply)'))).toHaveLength(2);
      for (const output of outputs) expect(output).toContain(`schema "${schema.schema}" at version ${LATEST_POSTGRES_VERSION}`);
    } finally {
      await schema.drop();
    }
  });

  it('migration 2 turns the paid objects of version 1 into counts: what their paying reservation counted, 0 when unknown', async () => {
    const schema = await createTestSchema({ prefix: 'kl_v1' });
    try {
      const s = `"${schema.schema}"`;
      await schema.sql.query(`CREATE SCHEMA ${s}`);
      await schema.sql.query(POSTGRES_MIGRATIONS[0]!.sql(s));
      await schema.sql.query(`CREATE TABLE ${s}.schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)`);
      await schema.sql.query(`INSERT INTO ${s}.schema_migrations VALUES (1, 'v1', 0)`);
      await schema.sql.query(`INSERT INTO ${s}.reservations (id, key_id, root_id, chain_json, day, reserved_micros, amount_micros, status, created_at)
        VALUES ('r1', 'k', 'root', '["k","root"]', '2030-01-15', 7000000, 6500000, 'settled', 1)`);
      await schema.sql.query(`INSERT INTO ${s}.paid_objects VALUES ('root', 'pi_old', 'r1'), ('root', 'pi_unknown', NULL)`);
      const store = await PostgresStore.connect(schema.storeUrl);
      expect(await store.countedForObject('root', 'pi_old')).toBe(6_500_000);
      expect(await store.countedForObject('root', 'pi_unknown')).toBe(0);
      await store.close();
    } finally {
      await schema.drop();
    }
  });

  it('migration 21: the chain all instances shared stays verifiable as "shared"; then each instance appends to a chain of its own', async () => {
    const schema = await createTestSchema({ prefix: 'kl_v20' });
    try {
      const s = `"${schema.schema}"`;
      await schema.sql.query(`CREATE SCHEMA ${s}`);
      await schema.sql.query(`CREATE TABLE ${s}.schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)`);
      for (const migration of POSTGRES_MIGRATIONS.filter((m) => m.version < 21)) {
        await schema.sql.query(migration.sql(s));
        await schema.sql.query(`INSERT INTO ${s}.schema_migrations VALUES ($1, $2, 0)`, [migration.version, migration.description]);
      }
      // three rows as version 20 wrote them: seq = last + 1, one chain
      let prev = GENESIS_HASH;
      for (let seq = 1; seq <= 3; seq++) {
        const entry = auditEntry(`before-${seq}`);
        const row = auditEntryToRow(entry);
        const hash = auditHash(prev, entry);
        await schema.sql.query(`INSERT INTO ${s}.audit (seq, ${Object.keys(row).join(', ')}, prev_hash, hash) VALUES (${Array.from({ length: Object.keys(row).length + 3 }, (_, i) => `$${i + 1}`).join(', ')})`, [seq, ...Object.values(row), prev, hash]);
        prev = hash;
      }
      const [first, second] = await Promise.all([PostgresStore.connect(schema.storeUrl), PostgresStore.connect(schema.storeUrl)]);
      const appended = await Promise.all([first!, second!, first!, second!].map((store, i) => store.appendAudit(auditEntry(`after-${i}`))));
      expect(Math.min(...appended.map((row) => row.seq))).toBeGreaterThan(3);

      const { rows } = await schema.sql.query<{ reason: string; chain_id: string }>(`SELECT reason, chain_id FROM ${s}.audit ORDER BY seq`);
      const chainOf = (reason: string) => rows.find((row) => row.reason === reason)!.chain_id;
      expect(['before-1', 'before-2', 'before-3'].map(chainOf)).toEqual(['shared', 'shared', 'shared']);
      expect([chainOf('after-0'), chainOf('after-2')]).toEqual([first!.auditChainId, first!.auditChainId]);
      expect([chainOf('after-1'), chainOf('after-3')]).toEqual([second!.auditChainId, second!.auditChainId]);
      expect((await first!.auditChainIds()).sort()).toEqual(['shared', first!.auditChainId, second!.auditChainId].sort());
      expect(await verifyAuditLog(second!)).toEqual({ ok: true, rows: 7, chains: 3 });
      await Promise.all([first!.close(), second!.close()]);
    } finally {
      await schema.drop();
    }
  });

  it('refuses to run on a schema migrated by a newer keyleash', async () => {
    const schema = await createTestSchema({ prefix: 'kl_new' });
    try {
      await (await PostgresStore.connect(schema.storeUrl)).close();
      await schema.sql.query(`INSERT INTO "${schema.schema}".schema_migrations (version, description, applied_at) VALUES (999, 'future', 0)`);
      await expect(PostgresStore.connect(schema.storeUrl)).rejects.toThrow(/version 999, newer than this keyleash/);
    } finally {
      await schema.drop();
    }
  });

  it('without ?schema= uses the search_path (options=-c search_path=…); prepared_statements=false works', async () => {
    const schema = await createTestSchema({ prefix: 'kl_sp', precreate: true });
    try {
      const url = `${TEST_PG_URL}${TEST_PG_URL.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema.schema}`)}&prepared_statements=false`;
      const store = await PostgresStore.connect(url);
      expect(store.schema).toBe(schema.schema);
      const key = rootKey('rootkeyaaaaaaaaa', { allowedEndpoints: ['GET /v1/*'], expiresAt: 2 });
      await store.insertKey(key);
      expect(await store.getKeyChain(key.id)).toEqual([key]);
      const { rows } = await schema.sql.query(`SELECT count(*)::int AS n FROM "${schema.schema}".schema_migrations`);
      expect(rows[0].n).toBe(POSTGRES_MIGRATIONS.length);
      await store.close();
    } finally {
      await schema.drop();
    }
  });

  it('admits the common case in one round trip; a request that does not clearly fit gets the full check, which names the refusal', async () => {
    const schema = await createTestSchema({ prefix: 'kl_rt' });
    const store = await PostgresStore.connect(schema.storeUrl);
    const sent = vi.spyOn(pg.Client.prototype, 'query');
    try {
      const key = rootKey('rootkeybbbbbbbbb', { dailyCapMicros: 5_000_000 });
      await store.insertKey(key);
      const now = Date.UTC(2030, 0, 15, 12);
      const admit = async (amountMicros: number) => {
        sent.mockClear();
        const admission = await store.admit({ keyChain: [key.id], amountMicros, now });
        return { admission, roundTrips: sent.mock.calls.length };
      };
      // the first admission registers this instance (its own connection); count from the second
      await admit(1_000_000);
      expect(await admit(3_000_000)).toMatchObject({ admission: { ok: true, reservedMicros: 3_000_000 }, roundTrips: 1 });
      const refused = await admit(2_000_000);
      expect(refused.admission).toEqual({ ok: false, refusal: { kind: 'daily_cap', keyId: key.id, capMicros: 5_000_000, spentMicros: 4_000_000, requestedMicros: 2_000_000 } });
      // the one-message attempt (which wrote nothing), then the full check's read and its rollback
      expect(refused.roundTrips).toBe(3);
      expect((await store.keySpend([key.id], '2030-01-15')).get(key.id)).toEqual({ dailyMicros: 4_000_000, totalMicros: 4_000_000 });
    } finally {
      sent.mockRestore();
      await store.close();
      await schema.drop();
    }
  });

  it('a burst on one key tree is admitted in batches, one transaction each; a burst past the cap admits exactly what fits', async () => {
    const schema = await createTestSchema({ prefix: 'kl_batch' });
    const store = await PostgresStore.connect(schema.storeUrl);
    const sent = vi.spyOn(pg.Client.prototype, 'query');
    try {
      const root = rootKey('rootkeyccccccccc', { dailyCapMicros: 30_000_000, rateLimitPerMinute: 100 });
      const children = ['childaaaaaaaaaaa', 'childbbbbbbbbbbb'].map((id) => ({ ...root, id, parentId: root.id, depth: 1, policy: { ...root.policy, dailyCapMicros: 20_000_000, rateLimitPerMinute: null } }));
      for (const key of [root, ...children]) await store.insertKey(key);
      const now = Date.UTC(2030, 0, 15, 12);
      const day = '2030-01-15';
      await store.admit({ keyChain: [root.id], amountMicros: 0, now }); // registers this instance
      sent.mockClear();
      const burst = await Promise.all(Array.from({ length: 20 }, (_, i) => store.admit({ keyChain: [children[i % 2]!.id, root.id], amountMicros: 1_000_000, now })));
      expect(burst.every((admission) => admission.ok)).toBe(true);
      // far fewer messages than admissions: the queued ones went together
      expect(sent.mock.calls.length).toBeLessThan(10);
      const spend = await store.keySpend([root.id, ...children.map((c) => c.id)], day);
      expect([...spend.values()]).toEqual([{ dailyMicros: 20_000_000, totalMicros: 20_000_000 }, { dailyMicros: 10_000_000, totalMicros: 10_000_000 }, { dailyMicros: 10_000_000, totalMicros: 10_000_000 }]);

      // 10 USD of room left on the root, 20 requests of 1 USD at once: exactly 10 go through
      const past = await Promise.all(Array.from({ length: 20 }, (_, i) => store.admit({ keyChain: [children[i % 2]!.id, root.id], amountMicros: 1_000_000, now })));
      expect(past.filter((admission) => admission.ok)).toHaveLength(10);
      for (const refused of past.filter((admission) => !admission.ok)) expect(refused).toMatchObject({ ok: false, refusal: { kind: 'daily_cap', keyId: root.id } });
      expect((await store.keySpend([root.id], day)).get(root.id)).toEqual({ dailyMicros: 30_000_000, totalMicros: 30_000_000 });
      // every admitted request counted once against the root's rate limit
      const { rows } = await schema.sql.query<{ count: number }>(`SELECT count FROM "${schema.schema}".key_rate_window WHERE key_id = $1`, [root.id]);
      expect(rows[0]!.count).toBe(1 + 20 + 10);
    } finally {
      sent.mockRestore();
      await store.close();
      await schema.drop();
    }
  });

  it('fails loudly when the server cannot be reached', async () => {
    await expect(PostgresStore.connect('postgres://postgres@127.0.0.1:1/test?schema=nowhere')).rejects.toThrow(/PostgreSQL store 127\.0\.0\.1:1\/test/);
  });

  it('the test database is reachable (these tests never skip)', async () => {
    const client = await connectTestDatabase();
    await client.end();
  });
});

function auditEntry(reason: string): AuditEntry {
  return { at: 1, vaultKeyId: null, rootKeyId: null, metadata: {}, vendor: 'stripe', method: 'GET', path: '/v1/x', status: 200, decision: 'allowed', reason, reservedMicros: 0, settledMicros: 0, upstreamRequestId: null, idempotencyKey: null, latencyMs: 0, attribution: {} };
}

/** a root key record for the store alone (no secret is ever presented): uncapped unless told */
function rootKey(id: string, policy: Partial<VaultKeyRecord['policy']>): VaultKeyRecord {
  return {
    id,
    parentId: null,
    rootId: id,
    depth: 0,
    secretHash: 'x',
    createdAt: 1,
    revokedAt: null,
    policy: { vendor: 'stripe', dailyCapMicros: null, totalCapMicros: null, allowedEndpoints: ['POST /v1/*'], expiresAt: Date.UTC(2040, 0, 1), rateLimitPerMinute: null, metadata: {}, unpriced: {}, stripeAccounts: [], ...policy },
  };
}
