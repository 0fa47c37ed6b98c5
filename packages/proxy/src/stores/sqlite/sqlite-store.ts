import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import {
  assertChildFits,
  parentChainRefusal,
  auditHash,
  encodeRequestFacts,
  checkAdmission,
  GENESIS_HASH,
  objectIncrease,
  rateWindowStart,
  releasedObjectGiveBack,
  utcDay,
  chainedRecord,
  type Admission,
  type AdmitRequest,
  type AuditEntry,
  type AuditFilter,
  type AuditRecord,
  type ChainLinkState,
  type ChildInsertion,
  type KeyFilter,
  type KeySpend,
  type Reprice,
  type RepriceResult,
  type Settlement,
  type SpendQuery,
  type SpendRow,
  type Store,
  type VaultKeyRecord,
} from '@keyleash/core';
import { abandonedAuditOf, auditEntryToRow, keyToRow, rowToAudit, rowToKey, type AuditRow, type HeldRow, type KeyRow } from '../rows.ts';
import { auditFilterWhere, dayRangeMs, keyFilterWhere, requestVendorSpendSql, spendGroupExpression, SQLITE_DIALECT } from '../sql-filters.ts';
import { Checkpointer } from './checkpointer.ts';
import { GroupCommit } from './group-commit.ts';
import { SqliteAlerts } from './sqlite-alerts.ts';
import { SqliteApprovals } from './sqlite-approvals.ts';
import { SqliteInstanceRegistry, STALE_MS } from './instance-registry.ts';
import { SQLITE_MIGRATIONS } from './schema.ts';

/**
 * A UUIDv7 (RFC 9562): 48-bit millisecond timestamp, then random bits. Reservation ids sort by
 * creation time, so the reservations B-tree grows at its tail instead of dirtying a random leaf
 * page per insert, and a range of days is a range of ids (`spend`); the random part keeps ids
 * unique across processes.
 */
function timeOrderedId(now: number): string {
  return `${timeOrderedIdPrefix(now)}7${randomUUID().slice(15)}`;
}

/** what every time-ordered id made at `ms` starts with; ids sort by it, so it bounds a time range */
function timeOrderedIdPrefix(ms: number): string {
  const hex = Math.max(0, Math.min(Math.floor(ms), 0xffffffffffff)).toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-`;
}

/** a reservation id from before time-ordered ids (migration 3): random, version digit not 7 */
const RANDOM_RESERVATION_ID = "substr(id, 15, 1) <> '7'";

interface LinkRow {
  id: string;
  revoked_at: number | null;
  expires_at: number;
  daily_cap_micros: number | null;
  total_cap_micros: number | null;
  rate_limit_per_minute: number | null;
  daily_micros: number | null;
  total_micros: number | null;
  window_start: number | null;
  window_count: number | null;
}

interface ReservationRow {
  id: string;
  chain_json: string;
  root_id: string;
  day: string;
  reserved_micros: number;
  amount_micros: number;
  status: string;
  object_id: string | null;
  object_micros: number;
}

/** the name of the one audit hash chain of a SQLite store */
export const SQLITE_AUDIT_CHAIN = 'main';

/**
 * The embedded store: one SQLite file, WAL mode. Every admission and settlement runs inside a
 * `BEGIN IMMEDIATE` transaction, so it is atomic even with several processes on one file; those
 * arriving in the same event-loop turn share one transaction (group-commit.ts: if one of them
 * throws, the group is rolled back and each runs again alone), and none is answered before that
 * transaction has committed. So each unit below touches nothing but the database.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  /** settlements ride with the next group (group-commit.ts `runLazily`); every read below commits them first */
  readonly answersBeforeSettle = true;
  private readonly db: Database.Database;
  private readonly statements;
  /** admit, settle and audit: each atomic, committed in groups (see group-commit.ts) */
  private readonly group: GroupCommit;
  readonly alerts: SqliteAlerts;
  readonly approvals: SqliteApprovals;
  /** this process's registration, so a store opened later can tell its reservations are live */
  private readonly instance: SqliteInstanceRegistry;
  private readonly checkpointer: Checkpointer;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode cannot corrupt the file; a power cut may lose the last transactions.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 10000');
    this.db.pragma('foreign_keys = ON');
    // Checkpoints (copy the WAL back into the file, then fsync) run on a worker thread with its
    // own connection (checkpointer.ts), never inside a commit on the event loop. Durability is
    // unchanged in kind: with synchronous=NORMAL a power cut may lose the transactions since the
    // last checkpoint; a process crash loses nothing. This connection never truncates the WAL file
    // (SQLite's default): it did so in the first commit after a checkpoint, and cutting a 32 MB
    // file whose pages are still cached took 28 ms inside that commit. The worker trims it once
    // writes have paused.
    this.db.pragma('journal_size_limit = -1');
    // A write statement that could fail halfway inside a larger transaction (an upsert, an insert
    // that fires a trigger) gets a statement journal: the first version of every page it changes,
    // by default in a temporary file. When units of a group commit were SAVEPOINTs, that was 30% of
    // the process's pwrite calls at 16 concurrent requests (strace: 12.8 -> 8.9 per request in memory).
    this.db.pragma('temp_store = MEMORY');
    this.migrateNow();
    this.checkpointer = new Checkpointer(this.db, path);
    const db = this.db;
    this.group = new GroupCommit(db, this.checkpointer.handoff);
    this.alerts = new SqliteAlerts(db);
    this.approvals = new SqliteApprovals(db);
    this.instance = new SqliteInstanceRegistry(db);
    this.statements = {
      insertKey: db.prepare(`INSERT INTO vault_keys (id, parent_id, root_id, depth, secret_hash, vendor, policy_json, metadata_json,
          daily_cap_micros, total_cap_micros, rate_limit_per_minute, expires_at, created_at, revoked_at)
        VALUES (@id, @parent_id, @root_id, @depth, @secret_hash, @vendor, @policy_json, @metadata_json,
          @daily_cap_micros, @total_cap_micros, @rate_limit_per_minute, @expires_at, @created_at, @revoked_at)`),
      getKey: db.prepare('SELECT * FROM vault_keys WHERE id = ?'),
      link: db.prepare(`SELECT k.id, k.revoked_at, k.expires_at, k.daily_cap_micros, k.total_cap_micros, k.rate_limit_per_minute,
          d.micros AS daily_micros, t.micros AS total_micros, w.window_start, w.count AS window_count
        FROM vault_keys k
        LEFT JOIN key_daily_spend d ON d.key_id = k.id AND d.day = ?
        LEFT JOIN key_daily_spend t ON t.key_id = k.id AND t.day = ''
        LEFT JOIN key_rate_window w ON w.key_id = k.id
        WHERE k.id = ?`),
      addDaily: db.prepare(`INSERT INTO key_daily_spend (key_id, day, micros) VALUES (?, ?, ?)
        ON CONFLICT (key_id, day) DO UPDATE SET micros = micros + excluded.micros`),
      // the total is the key's row of day '' (migration 22), on the same page as its days
      addTotal: db.prepare(`INSERT INTO key_daily_spend (key_id, day, micros) VALUES (?, '', ?)
        ON CONFLICT (key_id, day) DO UPDATE SET micros = micros + excluded.micros`),
      countRequest: db.prepare(`INSERT INTO key_rate_window (key_id, window_start, count) VALUES (?, ?, 1)
        ON CONFLICT (key_id) DO UPDATE SET count = CASE WHEN window_start = excluded.window_start THEN count + 1 ELSE 1 END, window_start = excluded.window_start`),
      idempotencyHit: db.prepare('SELECT reservation_id FROM idempotency WHERE key_id = ? AND idempotency_key = ?'),
      rememberIdempotency: db.prepare(`INSERT INTO idempotency (key_id, idempotency_key, reservation_id) VALUES (?, ?, ?)
        ON CONFLICT (key_id, idempotency_key) DO UPDATE SET reservation_id = excluded.reservation_id`),
      insertReservation: db.prepare(`INSERT INTO reservations (id, key_id, root_id, chain_json, day, reserved_micros, amount_micros, status, created_at,
          object_id, object_ceiling_micros, object_micros, instance_id, request_json)
        VALUES (?, ?, ?, ?, ?, ?, ?, 'held', ?, ?, ?, ?, ?, ?)`),
      heldReservations: db.prepare(`SELECT r.id, r.key_id, r.root_id, r.reserved_micros, r.created_at, r.instance_id, r.request_json,
          k.metadata_json, k.vendor
        FROM reservations r JOIN vault_keys k ON k.id = r.key_id WHERE r.status = 'held' ORDER BY r.created_at, r.id`),
      getReservation: db.prepare(`SELECT id, chain_json, root_id, day, reserved_micros, amount_micros, status, object_id, object_micros
        FROM reservations WHERE id = ?`),
      endReservation: db.prepare('UPDATE reservations SET status = ?, amount_micros = ?, settled_at = ? WHERE id = ?'),
      // the first reservation to name an object keeps it; the count only grows here
      countObject: db.prepare(`INSERT INTO counted_objects (root_id, object_id, counted_micros, reservation_id) VALUES (?, ?, ?, ?)
        ON CONFLICT (root_id, object_id) DO UPDATE SET counted_micros = MAX(counted_micros, excluded.counted_micros)`),
      addToObject: db.prepare('UPDATE counted_objects SET counted_micros = counted_micros + ? WHERE root_id = ? AND object_id = ?'),
      countedFor: db.prepare('SELECT counted_micros FROM counted_objects WHERE root_id = ? AND object_id = ?'),
      survivingCeiling: db.prepare(`SELECT COALESCE(MAX(object_ceiling_micros), 0) AS ceiling FROM reservations
        WHERE root_id = ? AND object_id = ? AND status <> 'released' AND id <> ?`),
      paidBy: db.prepare(`SELECT r.id, r.chain_json, r.day, r.amount_micros, r.status
        FROM counted_objects p JOIN reservations r ON r.id = p.reservation_id WHERE p.root_id = ? AND p.object_id = ?`),
      setAmount: db.prepare('UPDATE reservations SET amount_micros = ? WHERE id = ?'),
      lastAudit: db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1'),
      // positional parameters, as on every hot-path statement: better-sqlite3 binds a named one by
      // looking it up on an object (measured: 8.4 -> 4.7 us per audit insert)
      insertAudit: db.prepare(`INSERT INTO audit (seq, at, vault_key_id, root_key_id, metadata_json, vendor, method, path, status, decision, reason,
          reserved_micros, settled_micros, upstream_request_id, idempotency_key, latency_ms, attribution_json, prev_hash, hash)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      subtree: db.prepare(`WITH RECURSIVE tree(id) AS (SELECT id FROM vault_keys WHERE id = ?
          UNION ALL SELECT k.id FROM vault_keys k JOIN tree ON k.parent_id = tree.id)
        SELECT k.* FROM vault_keys k JOIN tree USING (id) ORDER BY k.depth, k.created_at`),
      revoke: db.prepare('UPDATE vault_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
      keySpend: db.prepare(`SELECT (SELECT micros FROM key_daily_spend WHERE key_id = @id AND day = @day) AS daily,
          (SELECT micros FROM key_daily_spend WHERE key_id = @id AND day = '') AS total`),
      spendByDay: db.prepare("SELECT day, micros FROM key_daily_spend WHERE key_id = ? AND day BETWEEN ? AND ? AND day <> '' ORDER BY day"),
      auditChain: db.prepare('SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?'),
    };
  }

  private migrateNow(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
    const applied = new Set((this.db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version));
    for (const migration of SQLITE_MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      this.db.transaction(() => {
        this.db.exec(migration.sql);
        this.db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(migration.version, Date.now());
      }).immediate();
    }
  }

  async migrate(): Promise<void> {
    this.migrateNow();
  }

  async close(): Promise<void> {
    this.group.flush();
    this.instance.close();
    await this.checkpointer.close();
    this.db.close();
  }

  async insertKey(key: VaultKeyRecord): Promise<void> {
    this.statements.insertKey.run(keyToRow(key));
  }

  async getKey(id: string): Promise<VaultKeyRecord | undefined> {
    const row = this.statements.getKey.get(id) as KeyRow | undefined;
    return row ? rowToKey(row) : undefined;
  }

  async insertChildKey(child: VaultKeyRecord, now: number): Promise<ChildInsertion> {
    const parentId = child.parentId;
    if (parentId === null) throw new Error(`insertChildKey: key ${child.id} has no parent`);
    // BEGIN IMMEDIATE: the chain is read under the write lock, so no revocation (from this
    // process or another on the same file) lands between the check and the insert
    return this.db
      .transaction((): ChildInsertion => {
        const chain = this.chainNow(parentId);
        const refusal = parentChainRefusal(parentId, chain, now);
        if (refusal) return { ok: false, refusal };
        assertChildFits(child, chain[0]!);
        this.statements.insertKey.run(keyToRow(child));
        return { ok: true };
      })
      .immediate();
  }

  async getKeyChain(id: string): Promise<VaultKeyRecord[]> {
    return this.chainNow(id);
  }

  private chainNow(id: string): VaultKeyRecord[] {
    const chain: VaultKeyRecord[] = [];
    let next: string | null = id;
    while (next !== null) {
      const row = this.statements.getKey.get(next) as KeyRow | undefined;
      if (!row) break;
      chain.push(rowToKey(row));
      next = row.parent_id;
    }
    return chain;
  }

  async listKeys(filter: KeyFilter = {}): Promise<VaultKeyRecord[]> {
    const where = keyFilterWhere(filter, SQLITE_DIALECT);
    const sql = `SELECT * FROM vault_keys ${where.sql} ORDER BY created_at, id`;
    return (this.db.prepare(sql).all(...where.params) as KeyRow[]).map(rowToKey);
  }

  async listSubtree(id: string): Promise<VaultKeyRecord[]> {
    return (this.statements.subtree.all(id) as KeyRow[]).map(rowToKey);
  }

  async revokeTree(id: string, now: number): Promise<string[]> {
    return this.db
      .transaction(() => {
        const revoked: string[] = [];
        for (const row of this.statements.subtree.all(id) as KeyRow[]) {
          if (this.statements.revoke.run(now, row.id).changes > 0) revoked.push(row.id);
        }
        return revoked;
      })
      .immediate();
  }

  async admit(request: AdmitRequest): Promise<Admission> {
    return this.group.run((): Admission => {
      const day = utcDay(request.now);
      const windowStart = rateWindowStart(request.now);
      const chain: ChainLinkState[] = [];
      for (const id of request.keyChain) {
        const row = this.statements.link.get(day, id) as LinkRow | undefined;
        if (!row) return { ok: false, refusal: { kind: 'unknown_key', keyId: id } };
        chain.push({
          id: row.id,
          revokedAt: row.revoked_at,
          expiresAt: row.expires_at,
          dailyCapMicros: row.daily_cap_micros,
          totalCapMicros: row.total_cap_micros,
          rateLimitPerMinute: row.rate_limit_per_minute,
          dailySpentMicros: row.daily_micros ?? 0,
          totalSpentMicros: row.total_micros ?? 0,
          requestsThisMinute: row.window_start === windowStart ? (row.window_count ?? 0) : 0,
        });
      }
      const leafId = request.keyChain[0]!;
      const earlier = request.idempotencyKey
        ? (this.statements.idempotencyHit.get(leafId, request.idempotencyKey) as { reservation_id: string } | undefined)
        : undefined;
      const original = earlier ? (this.statements.getReservation.get(earlier.reservation_id) as ReservationRow | undefined) : undefined;
      // A first use that Stripe refused (4xx, released) saved no result upstream, so this one may
      // execute for real: it is not a replay. A real replay is free only up to what the first use
      // counted; a larger amount under the same key pays the difference.
      const replayOf = original && original.status !== 'released' ? original : undefined;
      const rootId = request.keyChain[request.keyChain.length - 1]!;
      const step = request.object;
      const counted = step ? ((this.statements.countedFor.get(rootId, step.id) as { counted_micros: number } | undefined)?.counted_micros ?? 0) : 0;
      const objectMicros = step ? objectIncrease(counted, step.ceilingMicros) : 0;
      const amount = (replayOf ? Math.max(0, request.amountMicros - replayOf.amount_micros) : request.amountMicros) + objectMicros;
      const refusal = checkAdmission(chain, amount, request.now);
      if (refusal) return { ok: false, refusal };

      const reservationId = timeOrderedId(request.now);
      for (const link of chain) {
        if (link.rateLimitPerMinute !== null) this.statements.countRequest.run(link.id, windowStart);
        if (amount > 0) {
          this.statements.addDaily.run(link.id, day, amount);
          this.statements.addTotal.run(link.id, amount);
        }
      }
      this.statements.insertReservation.run(
        reservationId,
        leafId,
        rootId,
        JSON.stringify(request.keyChain),
        day,
        amount,
        amount,
        request.now,
        step?.id ?? null,
        step?.ceilingMicros ?? null,
        objectMicros,
        this.instance.id,
        encodeRequestFacts(request.request),
      );
      if (step) this.statements.countObject.run(rootId, step.id, Math.max(counted, step.ceilingMicros), reservationId);
      if (request.idempotencyKey && !replayOf) this.statements.rememberIdempotency.run(leafId, request.idempotencyKey, reservationId);
      return { ok: true, reservationId, reservedMicros: amount, idempotentReplay: replayOf !== undefined };
    });
  }

  async settle(settlement: Settlement): Promise<AuditRecord> {
    return this.group.runLazily(() => this.settleNow(settlement));
  }

  private settleNow(settlement: Settlement): AuditRecord {
    const reservation = this.statements.getReservation.get(settlement.reservationId) as ReservationRow | undefined;
    if (!reservation) throw new Error(`no reservation ${settlement.reservationId}`);
    if (reservation.status !== 'held') throw new Error(`reservation ${settlement.reservationId} is already ${reservation.status}`);
    const finalMicros = this.finalAmount(reservation, settlement);
    const delta = finalMicros - reservation.reserved_micros;
    if (delta !== 0) {
      for (const keyId of JSON.parse(reservation.chain_json) as string[]) {
        this.statements.addDaily.run(keyId, reservation.day, delta);
        this.statements.addTotal.run(keyId, delta);
      }
    }
    // a released object step gives back (from the object's count too) what no surviving step relies on
    if (reservation.object_id !== null && settlement.kind === 'released' && finalMicros !== reservation.object_micros) {
      this.statements.addToObject.run(finalMicros - reservation.object_micros, reservation.root_id, reservation.object_id);
    }
    this.statements.endReservation.run(settlement.kind, finalMicros, Date.now(), reservation.id);
    for (const objectId of settlement.paidObjectIds ?? []) {
      this.statements.countObject.run(reservation.root_id, objectId, settlement.paidObjectMicros ?? finalMicros, reservation.id);
    }
    return this.appendAuditNow(settlement.kind === 'released' ? { ...settlement.audit, settledMicros: finalMicros } : settlement.audit);
  }

  async recoverAbandoned(): Promise<number> {
    return this.group.run((): number => {
      const now = Date.now();
      const live = this.instance.liveInstances(now);
      const held = this.statements.heldReservations.all() as (HeldRow & { instance_id: string | null })[];
      // no instance recorded: written before migration 20, recovered once older than the bound
      const abandoned = held.filter((row) => (row.instance_id === null ? now - row.created_at > STALE_MS : !live.has(row.instance_id)));
      for (const row of abandoned) {
        const audit = abandonedAuditOf(row);
        this.settleNow({ reservationId: row.id, kind: 'kept', actualMicros: row.reserved_micros, audit });
      }
      this.instance.forgetAllBut(live);
      return abandoned.length;
    });
  }

  /** What a reservation counts once ended (see `Store.settle`); read inside the settling transaction. */
  private finalAmount(reservation: ReservationRow, settlement: Settlement): number {
    if (settlement.kind === 'kept') return reservation.reserved_micros;
    if (reservation.object_id === null) return settlement.kind === 'settled' ? settlement.actualMicros : 0;
    if (settlement.kind === 'settled') return reservation.reserved_micros;
    const counted = (this.statements.countedFor.get(reservation.root_id, reservation.object_id) as { counted_micros: number } | undefined)?.counted_micros ?? 0;
    const surviving = (this.statements.survivingCeiling.get(reservation.root_id, reservation.object_id, reservation.id) as { ceiling: number }).ceiling;
    return reservation.object_micros - releasedObjectGiveBack(reservation.object_micros, counted, surviving);
  }

  async appendAudit(entry: AuditEntry): Promise<AuditRecord> {
    return this.group.run(() => this.appendAuditNow(entry));
  }

  private appendAuditNow(entry: AuditEntry): AuditRecord {
    const last = this.statements.lastAudit.get() as { seq: number; hash: string } | undefined;
    const seq = (last?.seq ?? 0) + 1;
    const prevHash = last?.hash ?? GENESIS_HASH;
    const hash = auditHash(prevHash, entry);
    const row = auditEntryToRow(entry);
    this.statements.insertAudit.run(
      seq, row.at, row.vault_key_id, row.root_key_id, row.metadata_json, row.vendor, row.method, row.path, row.status, row.decision, row.reason,
      row.reserved_micros, row.settled_micros, row.upstream_request_id, row.idempotency_key, row.latency_ms, row.attribution_json, prevHash, hash,
    );
    return chainedRecord(entry, { seq, prevHash, hash });
  }

  async countedForObject(rootId: string, objectId: string): Promise<number | undefined> {
    this.group.flush();
    return (this.statements.countedFor.get(rootId, objectId) as { counted_micros: number } | undefined)?.counted_micros;
  }

  async reprice(request: Reprice): Promise<RepriceResult> {
    this.group.flush();
    return this.db.transaction((): RepriceResult => {
      const paid = this.statements.paidBy.get(request.rootId, request.objectId) as
        | { id: string; chain_json: string; day: string; amount_micros: number; status: string }
        | undefined;
      if (!paid || paid.status !== 'settled') return { kind: 'unknown_object' };
      if (paid.amount_micros === request.actualMicros) return { kind: 'unchanged', reservationId: paid.id };
      const delta = request.actualMicros - paid.amount_micros;
      for (const keyId of JSON.parse(paid.chain_json) as string[]) {
        this.statements.addDaily.run(keyId, paid.day, delta);
        this.statements.addTotal.run(keyId, delta);
      }
      this.statements.setAmount.run(request.actualMicros, paid.id);
      this.statements.addToObject.run(delta, request.rootId, request.objectId);
      const audit = this.appendAuditNow({ ...request.audit, reservedMicros: paid.amount_micros, settledMicros: request.actualMicros });
      return { kind: 'repriced', reservationId: paid.id, previousMicros: paid.amount_micros, actualMicros: request.actualMicros, audit };
    }).immediate();
  }

  async keySpend(ids: readonly string[], day: string): Promise<Map<string, KeySpend>> {
    this.group.flush();
    const spend = new Map<string, KeySpend>();
    for (const id of ids) {
      const row = this.statements.keySpend.get({ id, day }) as { daily: number | null; total: number | null };
      spend.set(id, { dailyMicros: row.daily ?? 0, totalMicros: row.total ?? 0 });
    }
    return spend;
  }

  async spendByDay(id: string, fromDay: string, toDay: string): Promise<{ day: string; micros: number }[]> {
    this.group.flush();
    return this.statements.spendByDay.all(id, fromDay, toDay) as { day: string; micros: number }[];
  }

  async spend(query: SpendQuery): Promise<SpendRow[]> {
    this.group.flush();
    if (query.groupBy.by === 'request_vendor') {
      const byRequest = requestVendorSpendSql(query, SQLITE_DIALECT, 'audit');
      const rows = this.db.prepare(`${byRequest.sql} ORDER BY micros DESC, grp`).all(...byRequest.params) as { grp: string; micros: number; requests: number }[];
      return rows.map((row) => ({ group: row.grp, micros: row.micros, requests: row.requests }));
    }
    // the days' reservations are a range of time-ordered ids (the primary key), plus any older,
    // random-id ones, which the partial index reservations_day_random_id finds (migration 21)
    const days = dayRangeMs(query.fromDay, query.toDay);
    const fromId = timeOrderedIdPrefix(days.from);
    const toId = timeOrderedIdPrefix(days.until);
    const params: unknown[] = [fromId, toId, query.fromDay, query.toDay, query.fromDay, query.toDay];
    const group = spendGroupExpression(query.groupBy, SQLITE_DIALECT, params);
    const sql = `SELECT ${group} AS grp, SUM(r.amount_micros) AS micros, COUNT(*) AS requests
      FROM (SELECT key_id, root_id, amount_micros FROM reservations WHERE id >= ? AND id < ? AND day BETWEEN ? AND ?
        UNION ALL SELECT key_id, root_id, amount_micros FROM reservations WHERE ${RANDOM_RESERVATION_ID} AND day BETWEEN ? AND ?) r
      JOIN vault_keys k ON k.id = r.key_id
      GROUP BY grp ORDER BY micros DESC, grp`;
    const rows = this.db.prepare(sql).all(...params) as { grp: string | null; micros: number; requests: number }[];
    return rows.map((row) => ({ group: row.grp, micros: row.micros, requests: row.requests }));
  }

  async queryAudit(filter: AuditFilter): Promise<AuditRecord[]> {
    this.group.flush();
    const where = auditFilterWhere(filter, SQLITE_DIALECT);
    const sql = `SELECT * FROM audit ${where.sql} ORDER BY seq DESC LIMIT ${where.limit}`;
    return (this.db.prepare(sql).all(...where.params) as AuditRow[]).map(rowToAudit);
  }

  /** one chain: every writer of the file appends under its write lock */
  async auditChainIds(): Promise<string[]> {
    return [SQLITE_AUDIT_CHAIN];
  }

  async auditChain(chainId: string, afterSeq: number, pageSize: number): Promise<AuditRecord[]> {
    if (chainId !== SQLITE_AUDIT_CHAIN) return [];
    this.group.flush();
    return (this.statements.auditChain.all(afterSeq, pageSize) as AuditRow[]).map(rowToAudit);
  }
}
