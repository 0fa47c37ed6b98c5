/**
 * WAL checkpoints run on a worker thread, not inside a commit on the serving thread: the serving
 * connection's automatic checkpoint is off, yet what is written reaches the database file (the
 * worker copied it back) while the store stays open. Nor does the serving connection truncate the
 * WAL file (a stall inside a commit): the worker empties it once writes have paused.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { utcDay } from '@keyleash/core';
import { CHECKPOINT_IDLE_MS, RESTART_FRAMES } from '../../src/stores/sqlite/checkpointer.ts';
import { SqliteStore } from '../../src/stores/sqlite/sqlite-store.ts';
import { rootKeyRecord } from '../root-key-record.ts';

it('a worker copies the WAL back into the file and trims the WAL once writes pause; the serving connection does neither', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyleash-checkpoint-'));
  const path = join(dir, 'keyleash.db');
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
    rmSync(dir, { recursive: true, force: true });
  }
});

/** the WAL's frame count, read from its shared index as the worker reads it (mxFrame at byte 16) */
function walFrames(path: string): number {
  const fd = openSync(`${path}-shm`, 'r');
  try {
    const header = Buffer.alloc(4);
    return readSync(fd, header, 0, 4, 16) === 4 ? header.readUInt32LE(0) : 0;
  } finally {
    closeSync(fd);
  }
}

it('under writes that never pause, the WAL starts again from its beginning instead of growing without bound', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyleash-restart-'));
  const path = join(dir, 'keyleash.db');
  const store = new SqliteStore(path);
  try {
    const key = rootKeyRecord({ allowedEndpoints: ['POST /v1/payment_intents'] });
    await store.insertKey(key);
    const audit = { at: 1, vaultKeyId: key.id, rootKeyId: key.id, metadata: {}, vendor: 'stripe', method: 'POST', path: '/v1/payment_intents', status: 200, decision: 'allowed' as const, reason: null, reservedMicros: 1, settledMicros: 1, upstreamRequestId: null, idempotencyKey: null, latencyMs: 0, attribution: {} };
    // a PaymentIntent per request, as the bench sends: its id lands on a random page of counted_objects
    const request = async () => {
      const admitted = await store.admit({ keyChain: [key.id], amountMicros: 1, now: Date.now() });
      if (!admitted.ok) throw new Error(`refused: ${admitted.refusal.kind}`);
      return store.settle({ reservationId: admitted.reservationId, kind: 'settled', actualMicros: 1, audit, paidObjectIds: [`pi_${randomBytes(12).toString('hex')}`] });
    };
    let sent = 0;
    let peakFrames = 0;
    let peakBytes = 0;
    let restarted = false;
    const deadline = Date.now() + 90_000;
    while (!restarted) {
      if (Date.now() > deadline) throw new Error(`the WAL never started again: ${walFrames(path)} frames, ${statSync(`${path}-wal`).size} bytes`);
      await Promise.all(Array.from({ length: 16 }, request));
      sent += 16;
      const frames = walFrames(path);
      peakBytes = Math.max(peakBytes, statSync(`${path}-wal`).size);
      // the count falls only when a write starts the WAL again from its first frame
      if (frames < peakFrames && peakFrames >= RESTART_FRAMES) restarted = true;
      peakFrames = Math.max(peakFrames, frames);
    }
    // nothing written before or after the restart is lost: every request counted once
    expect((await store.keySpend([key.id], utcDay(Date.now()))).get(key.id)!.totalMicros).toBe(sent);
    // a frame is its 24-byte header and a 4096-byte page; a restart comes within a poll or two of the threshold
    expect(peakBytes).toBeLessThan(2 * RESTART_FRAMES * (4096 + 24));
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
