/**
 * Versioned migrations for the PostgreSQL store. The same tables and meaning as the SQLite
 * store (money in BIGINT micro-USD, instants in BIGINT epoch milliseconds). The audit log is one
 * hash chain per instance (version 21), each kept linear by a lock of its own, not a table: see
 * appendAuditLast in postgres-store.ts.
 *
 * Each migration is a function of the quoted schema name, because every statement names its
 * schema (see connection.ts). All pending migrations run in ONE transaction that first takes a
 * transaction-scoped advisory lock, so instances that start together apply them exactly once
 * and a failed migration leaves nothing behind.
 */
import { alertsTableSql } from '../alert-rows.ts';
import { approvalsTableSql } from '../approval-rows.ts';

export interface PostgresMigration {
  version: number;
  description: string;
  sql: (schema: string) => string;
}

export const POSTGRES_MIGRATIONS: PostgresMigration[] = [
  {
    version: 1,
    description: 'keys, spend counters, reservations, idempotency, paid objects, hash-chained audit',
    sql: (s) => `
      CREATE TABLE ${s}.vault_keys (
        id TEXT PRIMARY KEY,
        parent_id TEXT REFERENCES ${s}.vault_keys(id),
        root_id TEXT NOT NULL,
        depth INTEGER NOT NULL,
        secret_hash TEXT NOT NULL,
        vendor TEXT NOT NULL,
        policy_json TEXT NOT NULL,
        metadata_json TEXT NOT NULL,
        daily_cap_micros BIGINT,
        total_cap_micros BIGINT,
        rate_limit_per_minute INTEGER,
        expires_at BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        revoked_at BIGINT
      );
      CREATE INDEX vault_keys_parent ON ${s}.vault_keys (parent_id);
      CREATE INDEX vault_keys_root ON ${s}.vault_keys (root_id);

      -- Spend counters per key: a key's row includes its descendants' spend, because a
      -- reservation increments every key in the chain. They are only written by a transaction
      -- that holds the row locks of every vault_keys row in the chain (taken in id order).
      CREATE TABLE ${s}.key_daily_spend (key_id TEXT NOT NULL, day TEXT NOT NULL, micros BIGINT NOT NULL, PRIMARY KEY (key_id, day));
      CREATE TABLE ${s}.key_total_spend (key_id TEXT PRIMARY KEY, micros BIGINT NOT NULL);
      CREATE TABLE ${s}.key_rate_window (key_id TEXT PRIMARY KEY, window_start BIGINT NOT NULL, count INTEGER NOT NULL);

      -- One row per admitted request, committed before the request is forwarded: a crash
      -- mid-request leaves the money counted (status 'held').
      CREATE TABLE ${s}.reservations (
        id TEXT PRIMARY KEY,
        key_id TEXT NOT NULL,
        root_id TEXT NOT NULL,
        chain_json TEXT NOT NULL,
        day TEXT NOT NULL,
        reserved_micros BIGINT NOT NULL,
        amount_micros BIGINT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('held', 'settled', 'released', 'kept')),
        created_at BIGINT NOT NULL,
        settled_at BIGINT
      );
      CREATE INDEX reservations_key_day ON ${s}.reservations (key_id, day);
      CREATE INDEX reservations_day ON ${s}.reservations (day);
      -- for monitoring: reservations left held by an instance that died mid-request
      CREATE INDEX reservations_held ON ${s}.reservations (created_at) WHERE status = 'held';

      CREATE TABLE ${s}.idempotency (key_id TEXT NOT NULL, idempotency_key TEXT NOT NULL, reservation_id TEXT NOT NULL, PRIMARY KEY (key_id, idempotency_key));
      -- reservation_id: which reservation paid for the object (the first to name it keeps it), so a
      -- later answer revealing the real price can correct that reservation (reprice)
      CREATE TABLE ${s}.paid_objects (root_id TEXT NOT NULL, object_id TEXT NOT NULL, reservation_id TEXT, PRIMARY KEY (root_id, object_id));

      CREATE TABLE ${s}.audit (
        seq BIGINT PRIMARY KEY,
        at BIGINT NOT NULL,
        vault_key_id TEXT,
        root_key_id TEXT,
        metadata_json TEXT NOT NULL,
        vendor TEXT NOT NULL,
        method TEXT NOT NULL,
        path TEXT NOT NULL,
        status INTEGER NOT NULL,
        decision TEXT NOT NULL,
        reason TEXT,
        reserved_micros BIGINT NOT NULL,
        settled_micros BIGINT NOT NULL,
        upstream_request_id TEXT,
        idempotency_key TEXT,
        latency_ms BIGINT NOT NULL,
        attribution_json TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      );
      CREATE INDEX audit_key ON ${s}.audit (vault_key_id, seq);
      CREATE INDEX audit_root ON ${s}.audit (root_key_id, seq);
      CREATE INDEX audit_at ON ${s}.audit (at);

      -- Append-only: the application never updates, deletes or truncates audit rows.
      CREATE FUNCTION ${s}.audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the audit log is append-only'; END
      $$;
      CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON ${s}.audit FOR EACH ROW EXECUTE FUNCTION ${s}.audit_append_only();
      CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON ${s}.audit FOR EACH STATEMENT EXECUTE FUNCTION ${s}.audit_append_only();
    `,
  },
  {
    version: 2,
    description: 'counting per object: counted_objects (amount per key tree and object) replaces paid_objects; object steps on reservations',
    sql: (s) => `
      -- What each key tree has counted for each vendor object (a PaymentIntent, a Charge, a Twilio
      -- message), so a later step on the object (confirm, capture, a raised amount,
      -- increment_authorization) counts only what exceeds it. Written only under the row lock of
      -- the tree's root key (admit, release, reprice) or as a monotone GREATEST (a create's
      -- settlement). reservation_id: the first reservation that named the object (reprice).
      -- Objects remembered before this migration count what their paying reservation counted
      -- (0 when unknown: the next step then counts the object in full, never less).
      CREATE TABLE ${s}.counted_objects (
        root_id TEXT NOT NULL,
        object_id TEXT NOT NULL,
        counted_micros BIGINT NOT NULL,
        reservation_id TEXT,
        PRIMARY KEY (root_id, object_id)
      );
      INSERT INTO ${s}.counted_objects (root_id, object_id, counted_micros, reservation_id)
        SELECT p.root_id, p.object_id, COALESCE(r.amount_micros, 0), p.reservation_id
        FROM ${s}.paid_objects p LEFT JOIN ${s}.reservations r ON r.id = p.reservation_id;
      DROP TABLE ${s}.paid_objects;

      -- The object step a reservation made: which object, the ceiling it set, and how much of the
      -- reservation is that object's increase (what a release may give back).
      ALTER TABLE ${s}.reservations
        ADD COLUMN object_id TEXT,
        ADD COLUMN object_ceiling_micros BIGINT,
        ADD COLUMN object_micros BIGINT NOT NULL DEFAULT 0;
      CREATE INDEX reservations_object ON ${s}.reservations (root_id, object_id) WHERE object_id IS NOT NULL;
    `,
  },
  {
    // numbered apart from the ledger's migrations, which other work extends
    version: 10,
    description: 'recorded alerts: one per dedupe key, with their delivery outbox',
    sql: (s) => alertsTableSql(`${s}.alerts`, 'DOUBLE PRECISION'),
  },
  {
    version: 11,
    description: 'calls held for a human decision, unique per key and Idempotency-Key',
    sql: (s) => approvalsTableSql(`${s}.approvals`),
  },
  {
    version: 20,
    description: 'crash recovery: the instance that admitted a reservation and its request facts; the instances sharing the schema',
    sql: (s) => `
      -- Which instance admitted a reservation, and what its audit row will say about the request,
      -- so a reservation left held by an instance that died gets its audit row (outcome unknown,
      -- cost kept) when an instance starts (docs/durability.md). Found through reservations_held.
      ALTER TABLE ${s}.reservations
        ADD COLUMN instance_id BIGINT,
        ADD COLUMN request_json TEXT;
      -- one row per running instance; its liveness is a session advisory lock on its id
      CREATE TABLE ${s}.store_instances (
        id BIGSERIAL PRIMARY KEY,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        started_at BIGINT NOT NULL
      );
    `,
  },
  {
    version: 21,
    description: 'an audit hash chain per instance: instances no longer serialise on one audit lock',
    sql: (s) => `
      -- Rows written before this version formed one chain that every instance shared: 'shared'.
      -- From here on, each instance appends to a chain of its own (postgres-store.ts, appendAuditLast).
      -- (A column with a constant default is added without rewriting the table or firing the
      -- append-only triggers.)
      ALTER TABLE ${s}.audit ADD COLUMN chain_id TEXT NOT NULL DEFAULT 'shared';
      ALTER TABLE ${s}.audit ALTER COLUMN chain_id DROP DEFAULT;
      -- seq is no longer "the last row's + 1" under a global lock but a sequence: unique, ascending
      -- within each chain, with holes where a transaction rolled back.
      CREATE SEQUENCE ${s}.audit_seq OWNED BY ${s}.audit.seq;
      SELECT setval('${s}.audit_seq', coalesce((SELECT max(seq) FROM ${s}.audit), 0) + 1, false);
      ALTER TABLE ${s}.audit ALTER COLUMN seq SET DEFAULT nextval('${s}.audit_seq');
      -- a chain's last row (the next append's prev_hash), and one chain's rows in order for verify
      CREATE INDEX audit_chain ON ${s}.audit (chain_id, seq);
    `,
  },
  {
    version: 22,
    description: 'one-round-trip admission of the common case: admit_common',
    sql: (s) => `
      -- The common-case admission of one or more requests of one key tree (no Idempotency-Key, no
      -- payment step, one UTC day and rate window), all or nothing: lock the keys (THE order),
      -- then, in a new statement (whose snapshot sees every earlier lock holder's commit), check
      -- that they all clearly fit together; if so write the counters and the reservations and
      -- answer true, else write nothing and answer false (the caller then runs the full check).
      -- A function, so PostgreSQL plans these statements once per connection, not per request.
      -- postgres-store.ts, admittedInOneRoundTrip, documents the rule; checkAdmission is the source.
      CREATE FUNCTION ${s}.admit_common(
        key_ids TEXT[], key_micros BIGINT[], key_requests INTEGER[], p_day TEXT, p_now BIGINT, p_window BIGINT,
        r_ids TEXT[], r_key_ids TEXT[], r_chains TEXT[], r_micros BIGINT[], r_created BIGINT[], r_facts TEXT[], p_root TEXT, p_instance BIGINT
      ) RETURNS BOOLEAN LANGUAGE plpgsql AS $$
      DECLARE
        fits BOOLEAN;
      BEGIN
        PERFORM 1 FROM ${s}.vault_keys k WHERE k.id = ANY(key_ids) ORDER BY k.id COLLATE "C" FOR NO KEY UPDATE;
        SELECT count(*) = cardinality(key_ids) AND coalesce(bool_and(
            k.revoked_at IS NULL AND k.expires_at > p_now
            AND (k.rate_limit_per_minute IS NULL OR (CASE WHEN w.window_start = p_window THEN w.count ELSE 0 END) + b.requests <= k.rate_limit_per_minute)
            AND (b.micros = 0 OR (
              (k.daily_cap_micros IS NULL OR coalesce(d.micros, 0) + b.micros <= k.daily_cap_micros)
              AND (k.total_cap_micros IS NULL OR coalesce(tot.micros, 0) + b.micros <= k.total_cap_micros)))
          ), false)
          INTO fits
          FROM unnest(key_ids, key_micros, key_requests) AS b(id, micros, requests)
          JOIN ${s}.vault_keys k ON k.id = b.id
          LEFT JOIN ${s}.key_daily_spend d ON d.key_id = k.id AND d.day = p_day
          LEFT JOIN ${s}.key_total_spend tot ON tot.key_id = k.id
          LEFT JOIN ${s}.key_rate_window w ON w.key_id = k.id;
        IF NOT fits THEN
          RETURN false;
        END IF;
        INSERT INTO ${s}.key_rate_window AS w (key_id, window_start, count)
          SELECT k.id, p_window, b.requests FROM unnest(key_ids, key_requests) AS b(id, requests)
          JOIN ${s}.vault_keys k ON k.id = b.id WHERE k.rate_limit_per_minute IS NOT NULL
          ON CONFLICT (key_id) DO UPDATE SET count = CASE WHEN w.window_start = EXCLUDED.window_start THEN w.count + EXCLUDED.count ELSE EXCLUDED.count END,
            window_start = EXCLUDED.window_start;
        INSERT INTO ${s}.key_daily_spend AS d (key_id, day, micros)
          SELECT b.id, p_day, b.micros FROM unnest(key_ids, key_micros) AS b(id, micros) WHERE b.micros > 0
          ON CONFLICT (key_id, day) DO UPDATE SET micros = d.micros + EXCLUDED.micros;
        INSERT INTO ${s}.key_total_spend AS tot (key_id, micros)
          SELECT b.id, b.micros FROM unnest(key_ids, key_micros) AS b(id, micros) WHERE b.micros > 0
          ON CONFLICT (key_id) DO UPDATE SET micros = tot.micros + EXCLUDED.micros;
        INSERT INTO ${s}.reservations (id, key_id, root_id, chain_json, day, reserved_micros, amount_micros, status, created_at,
            object_id, object_ceiling_micros, object_micros, instance_id, request_json)
          SELECT r.id, r.key_id, p_root, r.chain_json, p_day, r.micros, r.micros, 'held', r.created_at, NULL, NULL, 0, p_instance, r.facts
          FROM unnest(r_ids, r_key_ids, r_chains, r_micros, r_created, r_facts) AS r(id, key_id, chain_json, micros, created_at, facts);
        RETURN true;
      END
      $$;
    `,
  },
  {
    version: 23,
    description: 'audit rows appended by a function: append_audit',
    sql: (s) => `
      -- One audit row after its chain's last one, hashed by the database: sha256 of auditCanonical,
      -- whose text after the previous hash (p_tail) keyleash sends ready-made. The caller holds the
      -- chain's advisory lock (taken in an earlier statement, so this one's snapshot sees the
      -- previous holder's commit). A function, so PostgreSQL plans these statements once per
      -- connection rather than parsing and planning an INSERT … SELECT for every row.
      CREATE FUNCTION ${s}.append_audit(
        p_chain TEXT, p_genesis TEXT, p_tail TEXT, p_at BIGINT, p_vault_key_id TEXT, p_root_key_id TEXT, p_metadata_json TEXT,
        p_vendor TEXT, p_method TEXT, p_path TEXT, p_status INTEGER, p_decision TEXT, p_reason TEXT, p_reserved_micros BIGINT,
        p_settled_micros BIGINT, p_upstream_request_id TEXT, p_idempotency_key TEXT, p_latency_ms BIGINT, p_attribution_json TEXT,
        OUT seq BIGINT, OUT prev_hash TEXT, OUT hash TEXT
      ) LANGUAGE plpgsql AS $$
      BEGIN
        SELECT coalesce((SELECT a.hash FROM ${s}.audit a WHERE a.chain_id = p_chain ORDER BY a.seq DESC LIMIT 1), p_genesis) INTO prev_hash;
        hash := encode(sha256(convert_to('["' || prev_hash || '",' || p_tail, 'UTF8')), 'hex');
        INSERT INTO ${s}.audit AS a (chain_id, at, vault_key_id, root_key_id, metadata_json, vendor, method, path, status, decision, reason,
            reserved_micros, settled_micros, upstream_request_id, idempotency_key, latency_ms, attribution_json, prev_hash, hash)
          VALUES (p_chain, p_at, p_vault_key_id, p_root_key_id, p_metadata_json, p_vendor, p_method, p_path, p_status, p_decision, p_reason,
            p_reserved_micros, p_settled_micros, p_upstream_request_id, p_idempotency_key, p_latency_ms, p_attribution_json, prev_hash, hash)
          RETURNING a.seq INTO seq;
      END
      $$;
    `,
  },
  {
    version: 24,
    description: 'a group of settlements claims its reservations and appends its audit rows in one statement each',
    sql: (s) => `
      -- The group commit (auditGroup in postgres-store.ts) sent one UPDATE per reservation and one
      -- SELECT append_audit(…) per audit row, each parsed, analysed and planned anew: a third of
      -- the backends' CPU at 64 concurrent requests. These two loop inside the database over
      -- arrays, with plans cached per connection. A lone settlement uses them too, with arrays of one.

      -- Claims held reservations in the order given (the caller sorts the ids: one lock order for
      -- every group), answering a row for each one claimed; one no longer held is skipped.
      CREATE FUNCTION ${s}.claim_reservations(p_ids TEXT[], p_kinds TEXT[], p_actual_micros BIGINT[], p_now BIGINT)
      RETURNS TABLE (id TEXT, chain_json TEXT, root_id TEXT, day TEXT, reserved_micros BIGINT, amount_micros BIGINT)
      LANGUAGE plpgsql AS $$
      BEGIN
        FOR i IN 1 .. coalesce(array_length(p_ids, 1), 0) LOOP
          RETURN QUERY UPDATE ${s}.reservations AS r SET status = p_kinds[i],
              amount_micros = CASE WHEN p_kinds[i] = 'settled' AND r.object_id IS NULL THEN p_actual_micros[i]
                WHEN p_kinds[i] = 'released' THEN 0 ELSE r.reserved_micros END,
              settled_at = p_now
            WHERE r.id = p_ids[i] AND r.status = 'held'
            RETURNING r.id, r.chain_json, r.root_id, r.day, r.reserved_micros, r.amount_micros;
        END LOOP;
      END
      $$;

      -- Appends audit rows to one chain in the order given, each with append_audit; the caller
      -- holds the chain's advisory lock. Answers one row per entry, in that order (ord from 1).
      CREATE FUNCTION ${s}.append_audits(
        p_chain TEXT, p_genesis TEXT, p_tail TEXT[], p_at BIGINT[], p_vault_key_id TEXT[], p_root_key_id TEXT[], p_metadata_json TEXT[],
        p_vendor TEXT[], p_method TEXT[], p_path TEXT[], p_status INTEGER[], p_decision TEXT[], p_reason TEXT[], p_reserved_micros BIGINT[],
        p_settled_micros BIGINT[], p_upstream_request_id TEXT[], p_idempotency_key TEXT[], p_latency_ms BIGINT[], p_attribution_json TEXT[]
      ) RETURNS TABLE (ord INTEGER, seq BIGINT, prev_hash TEXT, hash TEXT)
      LANGUAGE plpgsql AS $$
      DECLARE
        appended RECORD;
      BEGIN
        FOR i IN 1 .. coalesce(array_length(p_tail, 1), 0) LOOP
          appended := ${s}.append_audit(p_chain, p_genesis, p_tail[i], p_at[i], p_vault_key_id[i], p_root_key_id[i], p_metadata_json[i],
            p_vendor[i], p_method[i], p_path[i], p_status[i], p_decision[i], p_reason[i], p_reserved_micros[i],
            p_settled_micros[i], p_upstream_request_id[i], p_idempotency_key[i], p_latency_ms[i], p_attribution_json[i]);
          ord := i;
          seq := appended.seq;
          prev_hash := appended.prev_hash;
          hash := appended.hash;
          RETURN NEXT;
        END LOOP;
      END
      $$;
    `,
  },
];

export const LATEST_POSTGRES_VERSION = Math.max(...POSTGRES_MIGRATIONS.map((m) => m.version));
