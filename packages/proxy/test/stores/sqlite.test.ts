import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Store } from '@keyleash/core';
import { SqliteStore } from '../../src/stores/sqlite/sqlite-store.ts';
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
