import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { Store } from '@keyleash/core';
import { SqliteStore } from '../../src/stores/sqlite/sqlite-store.ts';
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

describe('sqlite store migrations', () => {
  it('migration 4 turns the paid objects of version 3 into counts: what their paying reservation counted, 0 when unknown', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyleash-migrate-'));
    try {
      const path = join(dir, 'keyleash.db');
      const db = new Database(path);
      db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
      for (const migration of SQLITE_MIGRATIONS.filter((m) => m.version <= 3)) {
        db.exec(migration.sql);
        db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)').run(migration.version);
      }
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
});
