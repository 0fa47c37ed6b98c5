/**
 * WAL checkpoints run on a worker thread, not inside a commit on the serving thread: the serving
 * connection's automatic checkpoint is off, yet what is written reaches the database file (the
 * worker copied it back) while the store stays open.
 */
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { SqliteStore } from '../../src/stores/sqlite/sqlite-store.ts';

it('a worker copies the WAL back into the file; the serving connection never checkpoints', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'keyleash-checkpoint-')), 'keyleash.db');
  const store = new SqliteStore(path);
  try {
    const serving = (store as unknown as { db: { pragma(sql: string, options: { simple: true }): unknown } }).db;
    expect(serving.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    const before = statSync(path).size;
    const entry = { at: 1, vaultKeyId: null, rootKeyId: null, metadata: {}, vendor: 'stripe', method: 'POST', path: '/v1/x', status: 200, decision: 'allowed' as const, reason: null, reservedMicros: 0, settledMicros: 0, upstreamRequestId: null, idempotencyKey: null, latencyMs: 0, attribution: {} };
    await Promise.all(Array.from({ length: 3000 }, (_, i) => store.appendAudit({ ...entry, at: i })));
    const deadline = Date.now() + 20_000;
    while (statSync(path).size <= before + 100_000) {
      if (Date.now() > deadline) throw new Error(`the database file did not grow: ${statSync(path).size} bytes (was ${before})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await store.close();
  }
});
