import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { utcDay, type Store } from '@keyleash/core';
import { SqliteStore } from '../../src/stores/sqlite/sqlite-store.ts';
import { rootKeyRecord } from '../root-key-record.ts';
import { SQLITE_MIGRATIONS } from '../../src/stores/sqlite/schema.ts';
import { describeStoreConformance } from './store-conformance.ts';

describeStoreConformance('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyleash-conformance-'));
  const path = join(dir, 'keyleash.db');
  const store = new SqliteStore(path);
  const peers: Store[] = [];
  const raw = (work: (db: Database.Database) => void) => {
    const db = new Database(path);
    try {
      work(db);
    } finally {
      db.close();
    }
  };
  return {
    store,
    async openPeer() {
      const peer = new SqliteStore(path);
      peers.push(peer);
      return peer;
    },
    async tamperAudit(seq) {
      raw((db) => {
        db.exec('DROP TRIGGER audit_no_update');
        db.prepare("UPDATE audit SET reason = 'tampered' WHERE seq = ?").run(seq);
      });
    },
    async attemptAuditRewrite(seq) {
      raw((db) => db.prepare("UPDATE audit SET reason = 'rewritten' WHERE seq = ?").run(seq));
    },
    async close() {
      for (const peer of peers) await peer.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

/** A database file as keyleash left it after migration `version`, for a store to upgrade. */
function databaseAtVersion(path: string, version: number): Database.Database {
  const db = new Database(path);
  db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
  for (const migration of SQLITE_MIGRATIONS.filter((m) => m.version <= version)) {
    db.exec(migration.sql);
    db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)').run(migration.version);
  }
  return db;
}

describe('sqlite store migrations', () => {
  it('migration 4 turns the paid objects of version 3 into counts: what their paying reservation counted, 0 when unknown', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyleash-migrate-'));
    try {
      const path = join(dir, 'keyleash.db');
      const db = databaseAtVersion(path, 3);
      db.prepare(`INSERT INTO reservations (id, key_id, root_id, chain_json, day, reserved_micros, amount_micros, status, created_at)
        VALUES ('r1', 'k', 'root', '["k","root"]', '2030-01-15', 7000000, 6500000, 'settled', 1)`).run();
      db.prepare(`INSERT INTO paid_objects (root_id, object_id, reservation_id) VALUES ('root', 'pi_old', 'r1'), ('root', 'pi_unknown', NULL)`).run();
      db.close();
      const store = new SqliteStore(path);
      expect(await store.countedForObject('root', 'pi_old')).toBe(6_500_000);
      expect(await store.countedForObject('root', 'pi_unknown')).toBe(0);
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('migration 22 moves every key total beside its days: caps still count what was spent before it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyleash-migrate-'));
    try {
      const path = join(dir, 'keyleash.db');
      const now = Date.UTC(2030, 0, 15, 12);
      const day = utcDay(now);
      const key = rootKeyRecord({ expiresAt: Date.UTC(2040, 0, 1), totalCapMicros: 10_000_000 });
      const db = databaseAtVersion(path, 21);
      // spent before the upgrade: $3 today and $6 in all
      db.prepare('INSERT INTO key_daily_spend (key_id, day, micros) VALUES (?, ?, ?)').run(key.id, day, 3_000_000);
      db.prepare('INSERT INTO key_total_spend (key_id, micros) VALUES (?, ?)').run(key.id, 6_000_000);
      db.close();
      const store = new SqliteStore(path);
      await store.insertKey(key);
      expect(await store.keySpend([key.id], day)).toEqual(new Map([[key.id, { dailyMicros: 3_000_000, totalMicros: 6_000_000 }]]));
      expect(await store.spendByDay(key.id, '2030-01-01', '2030-12-31')).toEqual([{ day, micros: 3_000_000 }]);
      // $4 more fits the $10 total cap; $0.01 after that does not
      const fits = await store.admit({ keyChain: [key.id], amountMicros: 4_000_000, now });
      expect(fits.ok).toBe(true);
      const over = await store.admit({ keyChain: [key.id], amountMicros: 10_000, now });
      expect(over.ok ? 'admitted' : over.refusal.kind).toBe('total_cap');
      expect(await store.keySpend([key.id], day)).toEqual(new Map([[key.id, { dailyMicros: 7_000_000, totalMicros: 10_000_000 }]]));
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('after migration 21 spend by day still counts reservations with random ids (before migration 3) beside time-ordered ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyleash-migrate-'));
    try {
      const path = join(dir, 'keyleash.db');
      const key = rootKeyRecord({ expiresAt: Date.UTC(2040, 0, 1) });
      const now = Date.UTC(2030, 0, 15, 12);
      const day = utcDay(now);
      let store = new SqliteStore(path);
      await store.insertKey(key);
      const admitted = await store.admit({ keyChain: [key.id], amountMicros: 2_000_000, now });
      if (!admitted.ok) throw new Error(`refused: ${admitted.refusal.kind}`);
      await store.close();
      const db = new Database(path);
      const legacy = db.prepare(`INSERT INTO reservations (id, key_id, root_id, chain_json, day, reserved_micros, amount_micros, status, created_at)
        VALUES (?, ?, ?, ?, ?, 1000000, ?, 'settled', 1)`);
      // UUIDv4s, as reservations were named before migration 3: their order says nothing of their day
      legacy.run('00000000-0000-4000-8000-000000000001', key.id, key.id, JSON.stringify([key.id]), day, 300_000);
      legacy.run('ffffffff-ffff-4fff-bfff-ffffffffffff', key.id, key.id, JSON.stringify([key.id]), day, 40_000);
      legacy.run('77777777-7777-4777-8777-777777777777', key.id, key.id, JSON.stringify([key.id]), utcDay(now + 86_400_000), 5_000);
      db.close();
      store = new SqliteStore(path);
      const range = { fromDay: day, toDay: day };
      expect(await store.spend({ groupBy: { by: 'vault_key' }, ...range })).toEqual([{ group: key.id, micros: 2_340_000, requests: 3 }]);
      expect(await store.spend({ groupBy: { by: 'vault_key' }, fromDay: day, toDay: utcDay(now + 86_400_000) })).toEqual([{ group: key.id, micros: 2_345_000, requests: 4 }]);
      expect(await store.spend({ groupBy: { by: 'vault_key' }, fromDay: utcDay(now - 86_400_000), toDay: utcDay(now - 86_400_000) })).toEqual([]);
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
