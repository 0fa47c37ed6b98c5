import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { Store } from '@keyleash/core';
import { PostgresStore } from '../../src/stores/postgres/postgres-store.ts';
import { parsePostgresUrl } from '../../src/stores/postgres/connection.ts';
import { LATEST_POSTGRES_VERSION, POSTGRES_MIGRATIONS } from '../../src/stores/postgres/schema.ts';
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
      expect(outputs.filter((o) => o.includes(`(applied ${POSTGRES_MIGRATIONS.map((m) => m.version).join(', ')})`))).toHaveLength(1);
      expect(outputs.filter((o) => o.includes('(nothing to apply)'))).toHaveLength(2);
      for (const output of outputs) expect(output).toContain(`schema "${schema.schema}" at version ${LATEST_POSTGRES_VERSION}`);
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
      const key = { id: 'rootkeyaaaaaaaaa', parentId: null, rootId: 'rootkeyaaaaaaaaa', depth: 0, secretHash: 'x', createdAt: 1, revokedAt: null,
        policy: { vendor: 'stripe' as const, dailyCapMicros: null, totalCapMicros: null, allowedEndpoints: ['GET /v1/*'], expiresAt: 2, rateLimitPerMinute: null, metadata: {}, unpriced: {}, stripeAccounts: [] } };
      await store.insertKey(key);
      expect(await store.getKeyChain(key.id)).toEqual([key]);
      const { rows } = await schema.sql.query(`SELECT count(*)::int AS n FROM "${schema.schema}".schema_migrations`);
      expect(rows[0].n).toBe(POSTGRES_MIGRATIONS.length);
      await store.close();
    } finally {
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
