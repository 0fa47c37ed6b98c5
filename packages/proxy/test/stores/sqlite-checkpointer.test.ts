/**
 * WAL checkpoints run on a worker thread, not inside a commit on the serving thread: the serving
 * connection's automatic checkpoint is off, yet what is written reaches the database file (the
 * worker copied it back) while the store stays open. Nor does the serving connection truncate the
 * WAL file (a stall inside a commit): the worker empties it once writes have paused.
 */
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { CHECKPOINT_IDLE_MS } from '../../src/stores/sqlite/checkpointer.ts';
import { SqliteStore } from '../../src/stores/sqlite/sqlite-store.ts';

it('a worker copies the WAL back into the file and trims the WAL once writes pause; the serving connection does neither', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'keyleash-checkpoint-')), 'keyleash.db');
  const store = new SqliteStore(path);
  try {
    const serving = (store as unknown as { db: { pragma(sql: string, options: { simple: true }): unknown } }).db;
    expect(serving.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    expect(serving.pragma('journal_size_limit', { simple: true })).toBe(-1);
    const before = statSync(path).size;
    const entry = { at: 1, vaultKeyId: null, rootKeyId: null, metadata: {}, vendor: 'stripe', method: 'POST', path: '/v1/x', status: 200, decision: 'allowed' as const, reason: null, reservedMicros: 0, settledMicros: 0, upstreamRequestId: null, idempotencyKey: null, latencyMs: 0, attribution: {} };
    await Promise.all(Array.from({ length: 3000 }, (_, i) => store.appendAudit({ ...entry, at: i })));
    // what was written sits in the WAL; the worker may copy it back and trim the WAL any time
    // from now on (a copy below the frame threshold waits for the same pause as the trim)
    expect(statSync(`${path}-wal`).size).toBeGreaterThan(100_000);
    const deadline = Date.now() + 20_000;
    while (statSync(path).size <= before + 100_000) {
      if (Date.now() > deadline) throw new Error(`the database file did not grow: ${statSync(path).size} bytes (was ${before})`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // no write since: after CHECKPOINT_IDLE_MS the worker empties the WAL file
    while (statSync(`${path}-wal`).size > 0) {
      if (Date.now() > deadline + CHECKPOINT_IDLE_MS) throw new Error(`the WAL file was not trimmed: ${statSync(`${path}-wal`).size} bytes`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // and the store goes on writing after the trim
    const written = await store.appendAudit({ ...entry, at: 3000 });
    expect(written.seq).toBe(3001);
  } finally {
    await store.close();
  }
});
