import { alertsTableSql } from '../alert-rows.ts';
import { approvalsTableSql } from '../approval-rows.ts';

/** Versioned migrations; each runs once, in order, inside one transaction. */
export const SQLITE_MIGRATIONS: { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE vault_keys (
        id TEXT PRIMARY KEY,
        parent_id TEXT REFERENCES vault_keys(id),
        root_id TEXT NOT NULL,
        depth INTEGER NOT NULL,
        secret_hash TEXT NOT NULL,
        vendor TEXT NOT NULL,
        policy_json TEXT NOT NULL,
        metadata_json TEXT NOT NULL,
        daily_cap_micros INTEGER,
        total_cap_micros INTEGER,
        rate_limit_per_minute INTEGER,
        expires_at INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
      );
      CREATE INDEX vault_keys_parent ON vault_keys(parent_id);
      CREATE INDEX vault_keys_root ON vault_keys(root_id);

      -- Spend counters per key: a key's row includes its descendants' spend, because a
      -- reservation increments every key in the chain. Caps are checked against these.
      CREATE TABLE key_daily_spend (key_id TEXT NOT NULL, day TEXT NOT NULL, micros INTEGER NOT NULL, PRIMARY KEY (key_id, day));
      CREATE TABLE key_total_spend (key_id TEXT PRIMARY KEY, micros INTEGER NOT NULL);
      CREATE TABLE key_rate_window (key_id TEXT PRIMARY KEY, window_start INTEGER NOT NULL, count INTEGER NOT NULL);

      -- One row per admitted request: written before the request is forwarded, so a crash
      -- mid-request leaves the money counted (status 'held').
      CREATE TABLE reservations (
        id TEXT PRIMARY KEY,
        key_id TEXT NOT NULL,
        root_id TEXT NOT NULL,
        chain_json TEXT NOT NULL,
        day TEXT NOT NULL,
        reserved_micros INTEGER NOT NULL,
        amount_micros INTEGER NOT NULL,
        status TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        settled_at INTEGER
      );
      CREATE INDEX reservations_key_day ON reservations(key_id, day);
      CREATE INDEX reservations_day ON reservations(day);

      CREATE TABLE idempotency (key_id TEXT NOT NULL, idempotency_key TEXT NOT NULL, reservation_id TEXT NOT NULL, PRIMARY KEY (key_id, idempotency_key));
      CREATE TABLE paid_objects (root_id TEXT NOT NULL, object_id TEXT NOT NULL, PRIMARY KEY (root_id, object_id));

      CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        vault_key_id TEXT,
        root_key_id TEXT,
        metadata_json TEXT NOT NULL,
        vendor TEXT NOT NULL,
        method TEXT NOT NULL,
        path TEXT NOT NULL,
        status INTEGER NOT NULL,
        decision TEXT NOT NULL,
        reason TEXT,
        reserved_micros INTEGER NOT NULL,
        settled_micros INTEGER NOT NULL,
        upstream_request_id TEXT,
        idempotency_key TEXT,
        latency_ms INTEGER NOT NULL,
        attribution_json TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      );
      CREATE INDEX audit_key ON audit(vault_key_id, seq);
      CREATE INDEX audit_root ON audit(root_key_id, seq);
      CREATE INDEX audit_at ON audit(at);
      -- Append-only: the application never updates or deletes audit rows.
      CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
      CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    `,
  },
  {
    version: 2,
    sql: `
      -- Which reservation paid for an object, so a later answer revealing the real price (a Twilio
      -- status fetch) can correct that reservation. NULL for rows written before this migration.
      ALTER TABLE paid_objects ADD COLUMN reservation_id TEXT;
    `,
  },
  {
    version: 3,
    sql: `
      -- Hot-path layout (pnpm bench: the ledger was the largest per-request cost). Tables keyed by
      -- TEXT or composite keys become WITHOUT ROWID: one B-tree per table instead of a rowid table
      -- plus its primary-key index, so each upsert/insert touches half the pages. New reservation
      -- ids are time-ordered (UUIDv7, see sqlite-store.ts), so inserts append to the tail pages
      -- instead of dirtying a random leaf. reservations_key_day is dropped: no query reads it
      -- (spend() filters on day alone, which reservations_day serves).
      CREATE TABLE key_daily_spend_v3 (key_id TEXT NOT NULL, day TEXT NOT NULL, micros INTEGER NOT NULL, PRIMARY KEY (key_id, day)) WITHOUT ROWID;
      INSERT INTO key_daily_spend_v3 (key_id, day, micros) SELECT key_id, day, micros FROM key_daily_spend;
      DROP TABLE key_daily_spend;
      ALTER TABLE key_daily_spend_v3 RENAME TO key_daily_spend;

      CREATE TABLE key_total_spend_v3 (key_id TEXT NOT NULL PRIMARY KEY, micros INTEGER NOT NULL) WITHOUT ROWID;
      INSERT INTO key_total_spend_v3 (key_id, micros) SELECT key_id, micros FROM key_total_spend;
      DROP TABLE key_total_spend;
      ALTER TABLE key_total_spend_v3 RENAME TO key_total_spend;

      CREATE TABLE key_rate_window_v3 (key_id TEXT NOT NULL PRIMARY KEY, window_start INTEGER NOT NULL, count INTEGER NOT NULL) WITHOUT ROWID;
      INSERT INTO key_rate_window_v3 (key_id, window_start, count) SELECT key_id, window_start, count FROM key_rate_window;
      DROP TABLE key_rate_window;
      ALTER TABLE key_rate_window_v3 RENAME TO key_rate_window;

      CREATE TABLE reservations_v3 (
        id TEXT NOT NULL PRIMARY KEY,
        key_id TEXT NOT NULL,
        root_id TEXT NOT NULL,
        chain_json TEXT NOT NULL,
        day TEXT NOT NULL,
        reserved_micros INTEGER NOT NULL,
        amount_micros INTEGER NOT NULL,
        status TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        settled_at INTEGER
      ) WITHOUT ROWID;
      INSERT INTO reservations_v3 (id, key_id, root_id, chain_json, day, reserved_micros, amount_micros, status, created_at, settled_at)
        SELECT id, key_id, root_id, chain_json, day, reserved_micros, amount_micros, status, created_at, settled_at FROM reservations;
      DROP TABLE reservations;
      ALTER TABLE reservations_v3 RENAME TO reservations;
      CREATE INDEX reservations_day ON reservations(day);

      CREATE TABLE idempotency_v3 (key_id TEXT NOT NULL, idempotency_key TEXT NOT NULL, reservation_id TEXT NOT NULL, PRIMARY KEY (key_id, idempotency_key)) WITHOUT ROWID;
      INSERT INTO idempotency_v3 (key_id, idempotency_key, reservation_id) SELECT key_id, idempotency_key, reservation_id FROM idempotency;
      DROP TABLE idempotency;
      ALTER TABLE idempotency_v3 RENAME TO idempotency;

      CREATE TABLE paid_objects_v3 (root_id TEXT NOT NULL, object_id TEXT NOT NULL, reservation_id TEXT, PRIMARY KEY (root_id, object_id)) WITHOUT ROWID;
      INSERT INTO paid_objects_v3 (root_id, object_id, reservation_id) SELECT root_id, object_id, reservation_id FROM paid_objects;
      DROP TABLE paid_objects;
      ALTER TABLE paid_objects_v3 RENAME TO paid_objects;
    `,
  },
  {
    version: 4,
    sql: `
      -- Counting per object, not per request: what each key tree has counted for each vendor object
      -- (a PaymentIntent, a Charge, a Twilio message), so a later step on the object (confirm,
      -- capture, a raised amount, increment_authorization) counts only what exceeds it.
      -- reservation_id: the first reservation that named the object (reprice corrects it).
      -- Objects remembered before this migration count what their paying reservation counted
      -- (0 when unknown: the next step then counts the object in full, never less).
      CREATE TABLE counted_objects (
        root_id TEXT NOT NULL,
        object_id TEXT NOT NULL,
        counted_micros INTEGER NOT NULL,
        reservation_id TEXT,
        PRIMARY KEY (root_id, object_id)
      ) WITHOUT ROWID;
      INSERT INTO counted_objects (root_id, object_id, counted_micros, reservation_id)
        SELECT p.root_id, p.object_id, COALESCE(r.amount_micros, 0), p.reservation_id
        FROM paid_objects p LEFT JOIN reservations r ON r.id = p.reservation_id;
      DROP TABLE paid_objects;

      -- The object step a reservation made: which object, the ceiling it set, and how much of the
      -- reservation is that object's increase (what a release may give back).
      ALTER TABLE reservations ADD COLUMN object_id TEXT;
      ALTER TABLE reservations ADD COLUMN object_ceiling_micros INTEGER;
      ALTER TABLE reservations ADD COLUMN object_micros INTEGER NOT NULL DEFAULT 0;
      CREATE INDEX reservations_object ON reservations(root_id, object_id) WHERE object_id IS NOT NULL;
    `,
  },
  {
    // numbered apart from the ledger's migrations, which other work extends
    version: 10,
    sql: alertsTableSql('alerts', 'REAL'),
  },
  {
    version: 11,
    sql: approvalsTableSql('approvals'),
  },
  {
    version: 20,
    sql: `
      -- Crash recovery (docs/durability.md): which store instance admitted a reservation, and what
      -- its audit row will say about the request, so a reservation left held by an instance that
      -- died gets its audit row (outcome unknown, cost kept) when a store opens.
      ALTER TABLE reservations ADD COLUMN instance_id TEXT;
      ALTER TABLE reservations ADD COLUMN request_json TEXT;
      -- only the reservations in flight: what recovery scans
      CREATE INDEX reservations_held ON reservations(instance_id) WHERE status = 'held';
      -- the store instances (processes) using this file, and how to tell whether one is gone
      CREATE TABLE store_instances (
        id TEXT NOT NULL PRIMARY KEY,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        started_at INTEGER NOT NULL,
        heartbeat_at INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 21,
    sql: `
      -- Spend by day no longer needs an index on day: reservation ids are time-ordered (their first
      -- 12 hex digits are the creation time in ms, the day's), so a range of days is a range of the
      -- primary key. Every admission wrote a page of reservations_day; now only reservations from
      -- before migration 3 (random ids, no '7' version digit) are indexed by day, for the same query.
      DROP INDEX reservations_day;
      CREATE INDEX reservations_day_random_id ON reservations(day) WHERE substr(id, 15, 1) <> '7';
    `,
  },
  {
    version: 22,
    sql: `
      -- A key's running total lives beside its days, as the row of day '' (before every real day,
      -- so no range of days includes it). Each admission adds to a key's day and to its total:
      -- two rows of one leaf page now, where two tables wrote two pages per commit.
      INSERT INTO key_daily_spend (key_id, day, micros) SELECT key_id, '', micros FROM key_total_spend;
      DROP TABLE key_total_spend;
    `,
  },
];
