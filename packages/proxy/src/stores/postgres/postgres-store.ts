/**
 * The PostgreSQL store: several keyleash instances behind a load balancer share one ledger.
 *
 * Locking, in one sentence: every transaction that changes spend takes the row locks of the
 * chain's `vault_keys` rows in ascending id order (`SELECT … ORDER BY id FOR NO KEY UPDATE`),
 * and every audit append takes its audit chain's advisory lock last, held until its COMMIT. Each
 * instance appends to a hash chain of its own, so that lock never makes one instance wait for
 * another: instances serialise only on the keys they share.
 *
 * - `admit`: lock the chain, then (a new statement, so a fresh READ COMMITTED snapshot that sees
 *   whatever the previous lock holder committed) read the counters; run the shared
 *   `checkAdmission`; write the increments, the reservation and the idempotency row. Two
 *   admissions that share any key serialise on that key; chains that share none run in
 *   parallel. One lock order for everybody means no deadlock; reading only under the lock
 *   means no overspend, whatever the interleaving of instances.
 * - `settle`: claim the reservation (`UPDATE … WHERE status = 'held'`, so it ends once), lock the
 *   chain in the same order when the amount changes, adjust the counters of the reservation's
 *   day, count the objects it created, then append the audit row: all one transaction. A release
 *   runs alone (`releaseAlone`): what it gives back depends on the other steps of its object.
 * - object steps (`AdmitRequest.object`): the object's count is read and raised inside the
 *   admission, under the root key's row lock that every admission of the tree takes, so steps on
 *   one object are serial and each pays exactly what it raises.
 * - `revokeTree`: takes the key tree's advisory lock, then (a new statement, whose snapshot sees
 *   every child committed before) locks the subtree's rows in the same id order before updating
 *   them, so it cannot deadlock with admissions either; the next `admit` anywhere reads the
 *   revocation under the lock (nothing is cached).
 * - `insertChildKey`: takes the same tree lock, then locks the parent chain's rows (FOR SHARE, id
 *   order), checks every link is active and inserts the child, all one transaction. Derivations and
 *   revocations of one tree are therefore serial: a revocation either sees the new child or is
 *   seen by the derivation's check. (Row locks alone would not do: a revocation's subtree query
 *   takes its snapshot before it waits for the chain's locks, so it would miss a child committed
 *   while it waited.)
 * - lock order overall: key tree advisory lock (revokeTree, insertChildKey) -> reservation row
 *   (settle, reprice) -> vault_keys rows by id -> object count rows (counted_objects) -> audit lock.
 * - within one instance, admissions of one key tree queue in this process first (they would
 *   serialise on the root's row anyway), so a hot tree has one waiter per instance in PostgreSQL;
 *   what queued meanwhile is admitted as one batch, in one transaction, when it clearly fits
 *   (`admitBatch`), and one by one otherwise.
 * - group commit: settlements and audit appends that arrive while the previous group is running
 *   share one transaction (claims in reservation-id order, one key-lock statement in id order, the
 *   audit lock taken once, rows appended in arrival order); nothing resolves before its COMMIT. If
 *   a group rolls back cleanly, each unit is retried alone, so only a bad unit fails.
 *
 * Lock hold time is what contended keys and the audit chain pay for, so the hot paths send
 * several statements per round trip (the simple-query protocol, with values rendered by `lit`,
 * since it takes no parameters): an admission (or a batch of them) is one round trip in the
 * common case (`admittedInOneRoundTrip`: `BEGIN; SELECT admit_common(…); COMMIT`), its key
 * locks held only inside PostgreSQL; otherwise two (`BEGIN; lock; read`, then `writes; COMMIT`), with
 * the key locks held across one of them; a settlement is two round trips
 * (`BEGIN; claim`, then `lock keys; adjust; audit lock; audit row; COMMIT`) and an audit append
 * one, so the chain's lock (and a settlement's key locks) are held only inside PostgreSQL: the
 * database computes the audit hash (sha256 of the same canonical text as `auditHash`).
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import {
  assertChildFits,
  auditCanonical,
  encodeRequestFacts,
  auditHash,
  checkAdmission,
  GENESIS_HASH,
  objectIncrease,
  parentChainRefusal,
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
import { createPool, parsePostgresUrl, quoteIdent, type PostgresLocation } from './connection.ts';
import { deliver, type Outcome } from '../outcome.ts';
import { TreeBatches } from './tree-batches.ts';
import { auditFilterWhere, keyFilterWhere, POSTGRES_DIALECT, requestVendorSpendSql, spendGroupExpression } from '../sql-filters.ts';
import { PostgresAlerts } from './postgres-alerts.ts';
import { PostgresApprovals } from './postgres-approvals.ts';
import { PostgresInstanceRegistry } from './instance-registry.ts';
import { LATEST_POSTGRES_VERSION, POSTGRES_MIGRATIONS } from './schema.ts';

interface LockedKeyRow {
  id: string;
  revoked_at: number | null;
  expires_at: number;
  daily_cap_micros: number | null;
  total_cap_micros: number | null;
  rate_limit_per_minute: number | null;
}


interface CountedObjectRow {
  rootId: string;
  objectId: string;
  countedMicros: number;
  reservationId: string;
}

/** the reservation row an admission writes */
interface ReservationInsert {
  id: string;
  keyId: string;
  rootId: string;
  chain: readonly string[];
  day: string;
  micros: number;
  now: number;
  object: { id: string; ceilingMicros: number; micros: number } | undefined;
  instanceId: number;
  requestJson: string | null;
}

/** an admission waiting in its key tree's queue (see `admit`), with what every path needs of it */
interface QueuedAdmission {
  request: AdmitRequest;
  chainIds: readonly string[];
  leafId: string;
  rootId: string;
  day: string;
  windowStart: number;
  idempotencyKey: string | null;
}

/** the reservation of a common-case admission (no payment step, no Idempotency-Key) */
function commonReservation(queued: QueuedAdmission, instanceId: number): ReservationInsert {
  const { request, leafId, rootId, chainIds, day } = queued;
  return { id: randomUUID(), keyId: leafId, rootId, chain: chainIds, day, micros: request.amountMicros, now: request.now, object: undefined, instanceId, requestJson: encodeRequestFacts(request.request) };
}

/** a held reservation with no instance recorded (written before migration 20) is recovered once this old */
const ABANDONED_UNOWNED_AFTER_MS = 60_000;

interface ClaimedReservation {
  id: string;
  chain_json: string;
  root_id: string;
  day: string;
  reserved_micros: number;
  amount_micros: number;
}

/** where append_audit (or append_audits) put an audit row */
interface AppendedAudit {
  seq: number;
  prev_hash: string;
  hash: string;
}

/** A unit of the audit group commit: a settlement (claim + spend + audit row) or a bare audit row. */
type AuditUnit = { kind: 'settle'; settlement: Settlement } | { kind: 'append'; entry: AuditEntry };

interface PendingAudit {
  unit: AuditUnit;
  resolve: (record: AuditRecord) => void;
  reject: (error: unknown) => void;
}

// captured at load, so a test's fake timers cannot stall the ledger
const defer = setImmediate;
/** audit groups of one instance in flight at once (each holds one pooled connection) */
const AUDIT_GROUPS_IN_FLIGHT = 1;
/** units per group at most (bounds the size of one round trip) */
const AUDIT_GROUP_MAX = 64;

/**
 * Settlements that count no more than their reservations commit without waiting for the WAL
 * flush (`synchronous_commit = off` for that transaction only): their rows are visible to every
 * instance at COMMIT as always, and only a crash of PostgreSQL itself in the next few hundred
 * milliseconds could lose them. What a lost settlement leaves is what it found: the reservation
 * held at its full amount, with the request's facts, both committed durably before forwarding, so
 * the next start recovers it (counted at the reservation, audited as outcome unknown): the ledger
 * never counts less than what was forwarded. A settlement that raises the count, a release
 * (alone), a correction and a refusal's audit row still wait for the flush. A later durable
 * commit flushes every earlier one, so nothing durable ever rests on a lost settlement.
 */
const DONT_WAIT_FOR_FLUSH = 'SET LOCAL synchronous_commit TO off';

/** true when losing these settlements in a database crash would leave the ledger counting at least as much */
function safeToCommitLazily(reservations: Iterable<ClaimedReservation>): boolean {
  for (const reservation of reservations) if (reservation.amount_micros > reservation.reserved_micros) return false;
  return true;
}

export interface MigrationReport {
  schema: string;
  /** versions applied by this call (empty when the schema was already current) */
  applied: number[];
  version: number;
}

export interface PostgresConnectOptions {
  /** run pending migrations before returning (default true: `keyleash serve` migrates on start) */
  migrate?: boolean;
}

/** Advisory lock for migrations, per schema: pg_advisory_xact_lock(int, int). */
const MIGRATION_LOCK_SQL = `SELECT pg_advisory_xact_lock(hashtext('keyleash:migrate'), hashtext($1))`;

/**
 * A value as an SQL literal, for the multi-statement round trips (the simple-query protocol has
 * no parameters). Strings go through pg's escapeLiteral; numbers must be safe integers.
 */
function lit(value: string | number | null): string {
  if (value === null) return 'NULL';
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new Error(`not a whole number of micro-USD or milliseconds: ${value}`);
    return String(value);
  }
  return pg.escapeLiteral(value);
}

/** An SQL array literal of `type` (NULL elements allowed), for the functions that take one per column. */
function sqlArray(values: readonly (string | number | null)[], type: 'text' | 'bigint' | 'integer'): string {
  return values.length === 0 ? `'{}'::${type}[]` : `ARRAY[${values.map(lit).join(', ')}]::${type}[]`;
}

function textArray(values: readonly string[]): string {
  return sqlArray(values, 'text');
}

/** A multi-statement query answers with one result per statement. */
/** `auditCanonical(prev, entry)` is `["<prev>",` + this tail: the part keyleash sends ready-made. */
function canonicalTail(entry: AuditEntry): string {
  const canonical = auditCanonical(GENESIS_HASH, entry);
  const head = `["${GENESIS_HASH}",`;
  if (!canonical.startsWith(head)) throw new Error('auditCanonical no longer starts with the previous hash; the PostgreSQL store must follow it');
  return canonical.slice(head.length);
}

async function run(client: pg.PoolClient, sql: string): Promise<pg.QueryResult[]> {
  const result = (await client.query(sql)) as pg.QueryResult | pg.QueryResult[];
  return Array.isArray(result) ? result : [result];
}

/** The group's transaction failed inside PostgreSQL and was rolled back: none of it happened. */
class GroupRolledBack extends Error {
  constructor(readonly original: unknown) {
    super('the audit group was rolled back');
  }
}

/** the insertKey statement's parameters, in column order */
function insertKeyValues(key: VaultKeyRecord): unknown[] {
  const row = keyToRow(key);
  return [row.id, row.parent_id, row.root_id, row.depth, row.secret_hash, row.vendor, row.policy_json, row.metadata_json,
    row.daily_cap_micros, row.total_cap_micros, row.rate_limit_per_minute, row.expires_at, row.created_at, row.revoked_at];
}

export class PostgresStore implements Store {
  readonly alerts: PostgresAlerts;
  readonly approvals: PostgresApprovals;
  readonly kind = 'postgres';
  /** instances behind one load balancer read each other's rows: the answer waits for the settlement */
  readonly answersBeforeSettle = false;
  private readonly sql;
  /** this instance's admissions, queued and batched per key tree (see `admit`) */
  private readonly admissions = new TreeBatches<QueuedAdmission, Admission>((batch) => this.admitBatch(batch));
  /** settlements and audit appends waiting for the next group commit (see `enqueueAudit`) */
  private auditQueue: PendingAudit[] = [];
  private auditScheduled = false;
  private auditInFlight = 0;
  private auditIdle: (() => void)[] = [];
  /** this instance's registration (see instance-registry.ts), made once the schema is migrated */
  private registration: Promise<PostgresInstanceRegistry> | undefined;
  /**
   * The audit hash chain this store instance appends to, its own: instances never wait on each
   * other to append (see appendAuditLast), and `keyleash audit verify` walks every chain.
   */
  readonly auditChainId = randomUUID();

  private constructor(
    private readonly pool: pg.Pool,
    /** the unquoted schema every statement names */
    readonly schema: string,
    readonly location: PostgresLocation,
  ) {
    const s = quoteIdent(schema);
    const t = (table: string) => `${s}.${table}`;
    this.alerts = new PostgresAlerts(pool, t('alerts'));
    this.approvals = new PostgresApprovals(pool, t('approvals'));
    this.sql = {
      t,
      // --- parameterised statements (one per round trip) ---
      insertKey: `INSERT INTO ${t('vault_keys')} (id, parent_id, root_id, depth, secret_hash, vendor, policy_json, metadata_json,
          daily_cap_micros, total_cap_micros, rate_limit_per_minute, expires_at, created_at, revoked_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
      getKey: `SELECT * FROM ${t('vault_keys')} WHERE id = $1`,
      keyChain: `WITH RECURSIVE chain AS (
          SELECT k.*, 0 AS pos FROM ${t('vault_keys')} k WHERE k.id = $1
          UNION ALL
          SELECT k.*, chain.pos + 1 FROM ${t('vault_keys')} k JOIN chain ON k.id = chain.parent_id WHERE chain.pos < 1000
        ) SELECT * FROM chain ORDER BY pos`,
      subtree: `WITH RECURSIVE tree(id) AS (
          SELECT id FROM ${t('vault_keys')} WHERE id = $1
          UNION ALL SELECT k.id FROM ${t('vault_keys')} k JOIN tree ON k.parent_id = tree.id
        ) SELECT k.* FROM ${t('vault_keys')} k JOIN tree USING (id) ORDER BY k.depth, k.created_at, k.id COLLATE "C"`,
      lockSubtree: `WITH RECURSIVE tree(id) AS (
          SELECT id FROM ${t('vault_keys')} WHERE id = $1
          UNION ALL SELECT k.id FROM ${t('vault_keys')} k JOIN tree ON k.parent_id = tree.id
        ) SELECT k.id FROM ${t('vault_keys')} k WHERE k.id IN (SELECT id FROM tree) ORDER BY k.id COLLATE "C" FOR NO KEY UPDATE OF k`,
      rootOf: `SELECT root_id FROM ${t('vault_keys')} WHERE id = $1`,
      // serialises the structural changes of one key tree (derive, revoke) across instances
      lockTree: `SELECT pg_advisory_xact_lock(hashtext('keyleash:tree'), hashtext(${lit(schema)} || ':' || $1))`,
      // the parent chain as committed now, protected from revocation until COMMIT (THE id order)
      lockChainShared: `SELECT * FROM ${t('vault_keys')} WHERE id = ANY($1::text[]) ORDER BY id COLLATE "C" FOR SHARE`,
      revoke: `UPDATE ${t('vault_keys')} SET revoked_at = $2 WHERE id = ANY($1::text[]) AND revoked_at IS NULL RETURNING id, depth, created_at`,
      reservationStatus: `SELECT status FROM ${t('reservations')} WHERE id = $1`,
      reservationStatuses: `SELECT id, status FROM ${t('reservations')} WHERE id = ANY($1::text[])`,
      countedFor: `SELECT counted_micros FROM ${t('counted_objects')} WHERE root_id = $1 AND object_id = $2`,
      keySpend: `SELECT c.id, d.micros AS daily, tot.micros AS total FROM unnest($1::text[]) AS c(id)
        LEFT JOIN ${t('key_daily_spend')} d ON d.key_id = c.id AND d.day = $2
        LEFT JOIN ${t('key_total_spend')} tot ON tot.key_id = c.id`,
      spendByDay: `SELECT day, micros FROM ${t('key_daily_spend')} WHERE key_id = $1 AND day BETWEEN $2 AND $3 ORDER BY day`,
      auditChain: `SELECT * FROM ${t('audit')} WHERE chain_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
      // the distinct chains, one index probe each (a loose index scan over audit_chain)
      auditChainIds: `WITH RECURSIVE chains(id) AS (
          SELECT min(chain_id) FROM ${t('audit')}
          UNION ALL SELECT (SELECT min(chain_id) FROM ${t('audit')} WHERE chain_id > chains.id) FROM chains WHERE chains.id IS NOT NULL
        ) SELECT id FROM chains WHERE id IS NOT NULL`,

      // --- statement builders for the multi-statement round trips (values via lit) ---
      // THE lock order: vault_keys rows, ascending id, in admit, settle, reprice and revokeTree
      lockKeys: (ids: readonly string[]) => `SELECT id, revoked_at, expires_at, daily_cap_micros, total_cap_micros, rate_limit_per_minute
        FROM ${t('vault_keys')} WHERE id = ANY(${textArray(ids)}) ORDER BY id COLLATE "C" FOR NO KEY UPDATE`,
      // four small statements plan faster than one four-way join (planning is most of their cost)
      counters: (ids: readonly string[], day: string, leafId: string, idempotencyKey: string | null) =>
        [
          `SELECT key_id, micros FROM ${t('key_daily_spend')} WHERE key_id = ANY(${textArray(ids)}) AND day = ${lit(day)}`,
          `SELECT key_id, micros FROM ${t('key_total_spend')} WHERE key_id = ANY(${textArray(ids)})`,
          `SELECT key_id, window_start, count FROM ${t('key_rate_window')} WHERE key_id = ANY(${textArray(ids)})`,
          idempotencyKey === null
            ? `SELECT NULL::text AS status, NULL::bigint AS amount_micros WHERE false`
            : `SELECT r.status, r.amount_micros FROM ${t('idempotency')} i JOIN ${t('reservations')} r ON r.id = i.reservation_id
                WHERE i.key_id = ${lit(leafId)} AND i.idempotency_key = ${lit(idempotencyKey)}`,
        ].join(';\n'),
      // plain VALUES lists: cheaper to plan than a CTE over unnest (planning dominates here)
      addSpend: (ids: readonly string[], day: string, micros: number) =>
        `INSERT INTO ${t('key_daily_spend')} AS d (key_id, day, micros) VALUES ${ids.map((id) => `(${lit(id)}, ${lit(day)}, ${lit(micros)})`).join(', ')}
          ON CONFLICT (key_id, day) DO UPDATE SET micros = d.micros + EXCLUDED.micros;
        INSERT INTO ${t('key_total_spend')} AS tot (key_id, micros) VALUES ${ids.map((id) => `(${lit(id)}, ${lit(micros)})`).join(', ')}
          ON CONFLICT (key_id) DO UPDATE SET micros = tot.micros + EXCLUDED.micros`,
      // the one-round-trip admission (see admittedInOneRoundTrip and migration 22)
      admitCommon: (perKey: ReadonlyMap<string, { micros: number; requests: number }>, day: string, now: number, windowStart: number, reservations: readonly ReservationInsert[]) => {
        const keys = [...perKey];
        const bigints = (values: readonly number[]) => sqlArray(values, 'bigint');
        return `SELECT ${s}.admit_common(${[
          textArray(keys.map(([id]) => id)),
          bigints(keys.map(([, load]) => load.micros)),
          sqlArray(keys.map(([, load]) => load.requests), 'integer'),
          lit(day),
          lit(now),
          lit(windowStart),
          textArray(reservations.map((r) => r.id)),
          textArray(reservations.map((r) => r.keyId)),
          textArray(reservations.map((r) => JSON.stringify(r.chain))),
          bigints(reservations.map((r) => r.micros)),
          bigints(reservations.map((r) => r.now)),
          sqlArray(reservations.map((r) => r.requestJson), 'text'),
          lit(reservations[0]!.rootId),
          lit(reservations[0]!.instanceId),
        ].join(', ')}) AS admitted`;
      },
      countRequests: (ids: readonly string[], windowStart: number) => `INSERT INTO ${t('key_rate_window')} AS w (key_id, window_start, count)
        VALUES ${ids.map((id) => `(${lit(id)}, ${lit(windowStart)}, 1)`).join(', ')}
        ON CONFLICT (key_id) DO UPDATE SET count = CASE WHEN w.window_start = EXCLUDED.window_start THEN w.count + 1 ELSE 1 END,
          window_start = EXCLUDED.window_start`,
      insertReservation: (r: ReservationInsert) =>
        `INSERT INTO ${t('reservations')} (id, key_id, root_id, chain_json, day, reserved_micros, amount_micros, status, created_at,
          object_id, object_ceiling_micros, object_micros, instance_id, request_json)
        VALUES (${lit(r.id)}, ${lit(r.keyId)}, ${lit(r.rootId)}, ${lit(JSON.stringify(r.chain))}, ${lit(r.day)}, ${lit(r.micros)}, ${lit(r.micros)}, 'held', ${lit(r.now)},
          ${lit(r.object?.id ?? null)}, ${lit(r.object?.ceilingMicros ?? null)}, ${lit(r.object?.micros ?? 0)}, ${lit(r.instanceId)}, ${lit(r.requestJson)})`,
      // held by an instance that is gone ($1), or by one no longer registered (stopped, or
      // recovered before), or (written before migration 20) older than $2
      abandonedReservations: `SELECT r.id, r.key_id, r.root_id, r.reserved_micros, r.created_at, r.request_json, k.metadata_json, k.vendor
        FROM ${t('reservations')} r JOIN ${t('vault_keys')} k ON k.id = r.key_id
        WHERE r.status = 'held' AND (r.instance_id = ANY($1::bigint[])
          OR (r.instance_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${t('store_instances')} i WHERE i.id = r.instance_id))
          OR (r.instance_id IS NULL AND r.created_at < $2))
        ORDER BY r.created_at, r.id COLLATE "C"`,
      // an object's count, read under the root key's row lock (admit, release)
      objectCount: (rootId: string, objectId: string) =>
        `SELECT counted_micros FROM ${t('counted_objects')} WHERE root_id = ${lit(rootId)} AND object_id = ${lit(objectId)} FOR UPDATE`,
      // the highest ceiling among the object's other steps that still stand (see releasedObjectGiveBack)
      survivingCeiling: (rootId: string, objectId: string, reservationId: string) =>
        `SELECT COALESCE(MAX(object_ceiling_micros), 0)::bigint AS ceiling FROM ${t('reservations')}
        WHERE root_id = ${lit(rootId)} AND object_id = ${lit(objectId)} AND status <> 'released' AND id <> ${lit(reservationId)}`,
      addToObject: (rootId: string, objectId: string, micros: number) =>
        `UPDATE ${t('counted_objects')} SET counted_micros = counted_micros + ${lit(micros)} WHERE root_id = ${lit(rootId)} AND object_id = ${lit(objectId)}`,
      // written under the leaf's row lock, so two admissions of one key never race here; a key
      // whose first use was released points at the new reservation from now on
      rememberIdempotency: (keyId: string, idempotencyKey: string, reservationId: string) => `INSERT INTO ${t('idempotency')} (key_id, idempotency_key, reservation_id)
        VALUES (${lit(keyId)}, ${lit(idempotencyKey)}, ${lit(reservationId)})
        ON CONFLICT (key_id, idempotency_key) DO UPDATE SET reservation_id = EXCLUDED.reservation_id`,
      // claims held reservations in the order given, in one statement (migration 24); one no longer
      // held is left out of the answer. (An object step's amount was decided against its object at
      // admission: settled keeps it; a release of one goes through releaseAlone, which claims with
      // lockReservation instead.)
      claimReservations: (claims: readonly { id: string; kind: string; actualMicros: number }[], now: number) =>
        `SELECT id, chain_json, root_id, day, reserved_micros, amount_micros FROM ${s}.claim_reservations(${[
          textArray(claims.map((claim) => claim.id)),
          textArray(claims.map((claim) => claim.kind)),
          sqlArray(claims.map((claim) => claim.actualMicros), 'bigint'),
          lit(now),
        ].join(', ')})`,
      // the first reservation to name an object keeps it; the count only grows here (one row per
      // object per statement: callers merge duplicates)
      countObjects: (rows: readonly CountedObjectRow[]) => `INSERT INTO ${t('counted_objects')} AS o (root_id, object_id, counted_micros, reservation_id)
        VALUES ${rows.map((row) => `(${lit(row.rootId)}, ${lit(row.objectId)}, ${lit(row.countedMicros)}, ${lit(row.reservationId)})`).join(', ')}
        ON CONFLICT (root_id, object_id) DO UPDATE SET counted_micros = GREATEST(o.counted_micros, EXCLUDED.counted_micros)`,
      // a release claims its reservation with a row lock first: its amount depends on the object's other steps
      lockReservation: (id: string) => `SELECT id, chain_json, root_id, day, reserved_micros, amount_micros, status, object_id, object_micros
        FROM ${t('reservations')} WHERE id = ${lit(id)} FOR UPDATE`,
      endReservation: (id: string, kind: string, micros: number, now: number) =>
        `UPDATE ${t('reservations')} SET status = ${lit(kind)}, amount_micros = ${lit(micros)}, settled_at = ${lit(now)} WHERE id = ${lit(id)}`,
      // the reservation row lock serialises corrections of one object (and its settlement)
      lockPaidBy: (rootId: string, objectId: string) => `SELECT r.id, r.chain_json, r.day, r.amount_micros, r.status
        FROM ${t('counted_objects')} p JOIN ${t('reservations')} r ON r.id = p.reservation_id
        WHERE p.root_id = ${lit(rootId)} AND p.object_id = ${lit(objectId)} FOR UPDATE OF r`,
      setAmount: (id: string, micros: number) => `UPDATE ${t('reservations')} SET amount_micros = ${lit(micros)} WHERE id = ${lit(id)}`,
      // Serialises the appends to this instance's chain (only this instance writes it, so the lock
      // is never contended across instances; it orders this instance's own transactions): a
      // transaction-scoped advisory lock, released by COMMIT or ROLLBACK, also when the connection dies…
      lockAudit: `SELECT pg_advisory_xact_lock(hashtext('keyleash:audit'), hashtext(${lit(`${schema}:${this.auditChainId}`)}))`,
      // …then, in a new statement (whose snapshot sees the previous holder's commit), the rows
      // after the chain's last one, in the order given, each hashed by the database (append_audits,
      // migration 24, one array per column, runs append_audit of migration 23 per row): sha256 of
      // auditCanonical, whose text after the previous hash (`tail`) keyleash sends ready-made.
      // seq comes from a sequence: unique and, within a chain, ascending in chain order (taken
      // under the lock).
      insertAudits: (rows: readonly { row: ReturnType<typeof auditEntryToRow>; tail: string }[]) => {
        const column = <K extends keyof ReturnType<typeof auditEntryToRow>>(name: K) => rows.map(({ row }) => row[name]);
        return `SELECT ord, seq, prev_hash, hash FROM ${s}.append_audits(${[
          lit(this.auditChainId),
          lit(GENESIS_HASH),
          textArray(rows.map(({ tail }) => tail)),
          sqlArray(column('at'), 'bigint'),
          sqlArray(column('vault_key_id'), 'text'),
          sqlArray(column('root_key_id'), 'text'),
          sqlArray(column('metadata_json'), 'text'),
          sqlArray(column('vendor'), 'text'),
          sqlArray(column('method'), 'text'),
          sqlArray(column('path'), 'text'),
          sqlArray(column('status'), 'integer'),
          sqlArray(column('decision'), 'text'),
          sqlArray(column('reason'), 'text'),
          sqlArray(column('reserved_micros'), 'bigint'),
          sqlArray(column('settled_micros'), 'bigint'),
          sqlArray(column('upstream_request_id'), 'text'),
          sqlArray(column('idempotency_key'), 'text'),
          sqlArray(column('latency_ms'), 'bigint'),
          sqlArray(column('attribution_json'), 'text'),
        ].join(', ')}) ORDER BY ord`;
      },
    };
  }

  /**
   * Connects (the URL may carry `?schema=` and `?pool_max=`, see connection.ts), checks the
   * server answers, and runs pending migrations unless told not to.
   */
  static async connect(url: string, options: PostgresConnectOptions = {}): Promise<PostgresStore> {
    const location = parsePostgresUrl(url);
    const pool = createPool(location);
    try {
      let schema = location.schema;
      const { rows } = await pool.query<{ current_schema: string | null; encoding: string }>(
        `SELECT current_schema(), current_setting('server_encoding') AS encoding`,
      );
      // the audit hash is computed over UTF-8 text inside the database
      if (rows[0]?.encoding !== 'UTF8') throw new Error(`the database encoding is ${rows[0]?.encoding}; keyleash needs a UTF8 database`);
      if (schema === undefined) {
        schema = rows[0]?.current_schema ?? undefined;
        if (!schema) {
          throw new Error(`the search_path of ${location.display} names no existing schema: add ?schema=<name> to --store (keyleash creates it) or create the schema`);
        }
      }
      const store = new PostgresStore(pool, schema, location);
      if (options.migrate ?? true) await store.runMigrations();
      return store;
    } catch (error) {
      await pool.end().catch(() => undefined);
      const message = error instanceof Error ? error.message : String(error);
      throw new Error(`PostgreSQL store ${location.display}: ${message}`, { cause: error });
    }
  }

  async migrate(): Promise<void> {
    await this.runMigrations();
  }

  /**
   * Applies pending migrations in one transaction under an advisory lock keyed on the schema,
   * so instances starting together queue up and the later ones find nothing left to do.
   */
  async runMigrations(): Promise<MigrationReport> {
    return this.transaction(async (client) => {
      await client.query(MIGRATION_LOCK_SQL, [this.schema]);
      const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [this.schema]);
      const s = quoteIdent(this.schema);
      if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${s}`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)`);
      const done = new Set((await client.query<{ version: number }>(`SELECT version FROM ${s}.schema_migrations`)).rows.map((r) => r.version));
      const newest = Math.max(0, ...done);
      if (newest > LATEST_POSTGRES_VERSION) {
        throw new Error(`schema ${this.schema} is at version ${newest}, newer than this keyleash knows (${LATEST_POSTGRES_VERSION}); upgrade keyleash`);
      }
      const applied: number[] = [];
      for (const migration of POSTGRES_MIGRATIONS) {
        if (done.has(migration.version)) continue;
        await client.query(migration.sql(s));
        await client.query(`INSERT INTO ${s}.schema_migrations (version, description, applied_at) VALUES ($1, $2, $3)`, [
          migration.version,
          migration.description,
          Date.now(),
        ]);
        applied.push(migration.version);
      }
      return { schema: this.schema, applied, version: LATEST_POSTGRES_VERSION };
    });
  }

  async close(): Promise<void> {
    // units already queued still commit (or fail) before the pool goes
    while (this.auditQueue.length > 0 || this.auditInFlight > 0 || this.auditScheduled) {
      await new Promise<void>((resolve) => this.auditIdle.push(resolve));
    }
    const registration = this.registration;
    this.registration = undefined;
    if (registration) await (await registration.catch(() => undefined))?.close();
    if (!this.pool.ended) await this.pool.end();
  }

  private registered(): Promise<PostgresInstanceRegistry> {
    if (!this.registration) {
      const registration = PostgresInstanceRegistry.register(this.location, quoteIdent(this.schema), this.schema);
      this.registration = registration;
      // a failed registration is tried again by the next caller
      registration.catch(() => {
        if (this.registration === registration) this.registration = undefined;
      });
    }
    return this.registration;
  }

  async recoverAbandoned(): Promise<number> {
    const registry = await this.registered();
    return registry.withGoneInstances(async (gone) => {
      const { rows } = await this.pool.query<HeldRow>(this.sql.abandonedReservations, [gone, Date.now() - ABANDONED_UNOWNED_AFTER_MS]);
      const outcomes = await Promise.allSettled(
        rows.map((row) =>
          this.settle({
            reservationId: row.id,
            kind: 'kept',
            actualMicros: row.reserved_micros,
            audit: abandonedAuditOf(row),
          }),
        ),
      );
      // one another instance recovered first (claimed while still held) is simply not counted here
      return outcomes.filter((outcome) => outcome.status === 'fulfilled').length;
    });
  }

  /**
   * One pooled connection for `work`, which opens and ends its own transaction (so it can fold
   * BEGIN and COMMIT into its round trips). On any error: ROLLBACK, or drop the connection.
   */
  private async withConnection<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      return await work(client);
    } catch (error) {
      try {
        // harmless (a warning) when no transaction is open
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      }
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /** BEGIN … COMMIT around `work`, for the paths where round trips do not matter. */
  private async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.withConnection(async (client) => {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    });
  }

  async insertKey(key: VaultKeyRecord): Promise<void> {
    await this.pool.query(this.sql.insertKey, insertKeyValues(key));
  }

  async insertChildKey(child: VaultKeyRecord, now: number): Promise<ChildInsertion> {
    const parentId = child.parentId;
    if (parentId === null) throw new Error(`insertChildKey: key ${child.id} has no parent`);
    return this.transaction(async (client): Promise<ChildInsertion> => {
      // the chain's ids and tree (neither ever changes), then the tree lock, then the chain as committed now
      const found = await client.query<KeyRow>(this.sql.keyChain, [parentId]);
      if (found.rows.length === 0) return { ok: false, refusal: { kind: 'unknown_key', keyId: parentId } };
      await client.query(this.sql.lockTree, [found.rows[0]!.root_id]);
      const locked = await client.query<KeyRow>(this.sql.lockChainShared, [found.rows.map((row) => row.id)]);
      const current = new Map(locked.rows.map((row) => [row.id, rowToKey(row)]));
      const chain = found.rows.map((row) => current.get(row.id)).filter((key): key is VaultKeyRecord => key !== undefined);
      const refusal = parentChainRefusal(parentId, chain, now);
      if (refusal) return { ok: false, refusal };
      assertChildFits(child, chain[0]!);
      await client.query(this.sql.insertKey, insertKeyValues(child));
      return { ok: true };
    });
  }

  async getKey(id: string): Promise<VaultKeyRecord | undefined> {
    const { rows } = await this.pool.query<KeyRow>(this.sql.getKey, [id]);
    return rows[0] ? rowToKey(rows[0]) : undefined;
  }

  async getKeyChain(id: string): Promise<VaultKeyRecord[]> {
    // Every request starts here. Named, it is planned once per connection: planning this
    // recursive query costs several times more than running it.
    const query = this.location.preparedStatements
      ? { name: 'keyleash_key_chain', text: this.sql.keyChain, values: [id] }
      : { text: this.sql.keyChain, values: [id] };
    const { rows } = await this.pool.query<KeyRow>(query);
    return rows.map(rowToKey);
  }

  async listKeys(filter: KeyFilter = {}): Promise<VaultKeyRecord[]> {
    const where = keyFilterWhere(filter, POSTGRES_DIALECT);
    const sql = `SELECT * FROM ${this.sql.t('vault_keys')} ${where.sql} ORDER BY created_at, id COLLATE "C"`;
    const { rows } = await this.pool.query<KeyRow>(sql, where.params);
    return rows.map(rowToKey);
  }

  async listSubtree(id: string): Promise<VaultKeyRecord[]> {
    const { rows } = await this.pool.query<KeyRow>(this.sql.subtree, [id]);
    return rows.map(rowToKey);
  }

  async revokeTree(id: string, now: number): Promise<string[]> {
    return this.transaction(async (client) => {
      const root = await client.query<{ root_id: string }>(this.sql.rootOf, [id]);
      if (root.rowCount === 0) return [];
      // after the tree lock, a new statement: its snapshot holds every child derived before
      await client.query(this.sql.lockTree, [root.rows[0]!.root_id]);
      const locked = await client.query<{ id: string }>(this.sql.lockSubtree, [id]);
      if (locked.rowCount === 0) return [];
      const { rows } = await client.query<{ id: string; depth: number; created_at: number }>(this.sql.revoke, [locked.rows.map((r) => r.id), now]);
      rows.sort((a, b) => a.depth - b.depth || a.created_at - b.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      return rows.map((r) => r.id);
    });
  }

  async admit(request: AdmitRequest): Promise<Admission> {
    const chainIds = request.keyChain;
    if (chainIds.length === 0) throw new Error('admit: the key chain is empty');
    if (new Set(chainIds).size !== chainIds.length) throw new Error('admit: the key chain names a key twice');
    const rootId = chainIds[chainIds.length - 1]!;
    // queued per key tree, and admitted in batches (see tree-batches.ts and admitBatch)
    return this.admissions.add(rootId, {
      request,
      chainIds,
      leafId: chainIds[0]!,
      rootId,
      day: utcDay(request.now),
      windowStart: rateWindowStart(request.now),
      idempotencyKey: request.idempotencyKey ?? null,
    });
  }

  /**
   * One tree's queued admissions. When there are several and each is the common case (no
   * Idempotency-Key, no payment step, the same UTC day and rate window), they go to the database
   * together, in one round trip and one transaction, if they all clearly fit even taken together
   * (`admittedInOneRoundTrip`). Otherwise each runs alone, in arrival order, each seeing the ones
   * before it: the same results as one after another.
   */
  private async admitBatch(batch: QueuedAdmission[]): Promise<Outcome<Admission>[]> {
    const first = batch[0]!;
    const together =
      batch.length > 1 &&
      batch.every((queued) => !queued.request.object && queued.idempotencyKey === null && queued.day === first.day && queued.windowStart === first.windowStart);
    if (together) {
      const instance = await this.registered();
      const reservations = batch.map((queued) => commonReservation(queued, instance.id));
      const admitted = await this.withConnection((client) => this.admittedInOneRoundTrip(client, reservations, first.windowStart));
      if (admitted) return reservations.map((reservation) => ({ ok: true, value: { ok: true, reservationId: reservation.id, reservedMicros: reservation.micros, idempotentReplay: false } }));
    }
    const outcomes: Outcome<Admission>[] = [];
    for (const queued of batch) {
      outcomes.push(await this.admitNow(queued).then((value): Outcome<Admission> => ({ ok: true, value }), (error: unknown): Outcome<Admission> => ({ ok: false, error })));
    }
    return outcomes;
  }

  private async admitNow(queued: QueuedAdmission): Promise<Admission> {
    const { request, chainIds, leafId, rootId, day, windowStart, idempotencyKey } = queued;
    const instance = await this.registered();
    return this.withConnection(async (client): Promise<Admission> => {
      const step = request.object;
      // The common case (no object step, no Idempotency-Key) in one round trip, when it fits
      if (!step && idempotencyKey === null) {
        const reservation = commonReservation(queued, instance.id);
        if (await this.admittedInOneRoundTrip(client, [reservation], windowStart)) return { ok: true, reservationId: reservation.id, reservedMicros: reservation.micros, idempotentReplay: false };
      }
      // Round trip 1: lock every key of the chain (ascending id: no deadlock; revocation is read
      // here, fresh), then read the counters in a new statement, whose snapshot sees every
      // earlier lock holder's commit.
      const [, locked, daily, total, windows, idempotent, objectCount] = await run(
        client,
        `BEGIN; ${this.sql.lockKeys(chainIds)}; ${this.sql.counters(chainIds, day, leafId, idempotencyKey)}${step ? `; ${this.sql.objectCount(rootId, step.id)}` : ''}`,
      );
      const keys = new Map((locked!.rows as LockedKeyRow[]).map((row) => [row.id, row]));
      const dailyMicros = new Map((daily!.rows as { key_id: string; micros: number }[]).map((row) => [row.key_id, row.micros]));
      const totalMicros = new Map((total!.rows as { key_id: string; micros: number }[]).map((row) => [row.key_id, row.micros]));
      const window = new Map((windows!.rows as { key_id: string; window_start: number; count: number }[]).map((row) => [row.key_id, row]));
      const missing = chainIds.find((id) => !keys.has(id));
      if (missing !== undefined) {
        await client.query('ROLLBACK');
        return { ok: false, refusal: { kind: 'unknown_key', keyId: missing } };
      }
      const chain: ChainLinkState[] = chainIds.map((id) => {
        const key = keys.get(id)!;
        const rate = window.get(id);
        return {
          id,
          revokedAt: key.revoked_at,
          expiresAt: key.expires_at,
          dailyCapMicros: key.daily_cap_micros,
          totalCapMicros: key.total_cap_micros,
          rateLimitPerMinute: key.rate_limit_per_minute,
          dailySpentMicros: dailyMicros.get(id) ?? 0,
          totalSpentMicros: totalMicros.get(id) ?? 0,
          requestsThisMinute: rate?.window_start === windowStart ? rate.count : 0,
        };
      });
      // The same rule as SQLite: a first use that was released (the vendor refused it and saved
      // no result) makes this a new request; a real replay is free up to what the first use
      // counted, and a larger amount pays the difference.
      const original = idempotent!.rows[0] as { status: string; amount_micros: number } | undefined;
      const replayOf = original && original.status !== 'released' ? original : undefined;
      // an object step pays what its ceiling exceeds the tree's count for the object (read under the root's lock)
      const counted = (objectCount?.rows[0] as { counted_micros: number } | undefined)?.counted_micros ?? 0;
      const objectMicros = step ? objectIncrease(counted, step.ceilingMicros) : 0;
      const amount = (replayOf ? Math.max(0, request.amountMicros - replayOf.amount_micros) : request.amountMicros) + objectMicros;
      // the shared rule
      const refusal = checkAdmission(chain, amount, request.now);
      if (refusal) {
        await client.query('ROLLBACK');
        return { ok: false, refusal };
      }
      // Round trip 2: counters, rate windows, the reservation, the idempotency key, COMMIT.
      const reservationId = randomUUID();
      const writes: string[] = [];
      const limited = chain.filter((link) => link.rateLimitPerMinute !== null).map((link) => link.id);
      if (limited.length > 0) writes.push(this.sql.countRequests(limited, windowStart));
      if (amount > 0) writes.push(this.sql.addSpend(chainIds, day, amount));
      writes.push(
        this.sql.insertReservation({
          id: reservationId,
          keyId: leafId,
          rootId,
          chain: chainIds,
          day,
          micros: amount,
          now: request.now,
          object: step ? { id: step.id, ceilingMicros: step.ceilingMicros, micros: objectMicros } : undefined,
          instanceId: instance.id,
          requestJson: encodeRequestFacts(request.request),
        }),
      );
      if (step) writes.push(this.sql.countObjects([{ rootId, objectId: step.id, countedMicros: Math.max(counted, step.ceilingMicros), reservationId }]));
      if (idempotencyKey !== null && !replayOf) writes.push(this.sql.rememberIdempotency(leafId, idempotencyKey, reservationId));
      writes.push('COMMIT');
      await run(client, writes.join(';\n'));
      return { ok: true, reservationId, reservedMicros: amount, idempotentReplay: replayOf !== undefined };
    });
  }

  /**
   * One round trip for one or more admissions of one tree (same UTC day and rate window):
   * `BEGIN; SELECT admit_common(…); COMMIT` (migration 22). The function locks their keys (THE
   * order), then checks in a new statement that they clearly fit even all together (every key
   * exists, is active and unexpired at the latest of their instants, has room under its rate limit
   * for all of them and under both caps for their sum: a conservative restatement of
   * `checkAdmission`, read under the same locks), and only then writes the counters and the
   * reservations. When they do not clearly fit it writes nothing and answers false, and the caller
   * runs each admission through the two-round-trip check, where the shared rule decides and names
   * any refusal. It can only send requests to that full check, never admit one the shared rule
   * would refuse in arrival order (randomised store tests compare the two), so caps stay exact.
   */
  private async admittedInOneRoundTrip(client: pg.PoolClient, reservations: readonly ReservationInsert[], windowStart: number): Promise<boolean> {
    const perKey = new Map<string, { micros: number; requests: number }>();
    for (const reservation of reservations) {
      for (const id of reservation.chain) {
        const load = perKey.get(id) ?? { micros: 0, requests: 0 };
        load.micros += reservation.micros;
        load.requests += 1;
        perKey.set(id, load);
      }
    }
    const first = reservations[0]!;
    const latest = Math.max(...reservations.map((reservation) => reservation.now));
    const [, answer] = await run(client, `BEGIN; ${this.sql.admitCommon(perKey, first.day, latest, windowStart, reservations)}; COMMIT`);
    return (answer!.rows[0] as { admitted: boolean }).admitted;
  }

  settle(settlement: Settlement): Promise<AuditRecord> {
    return this.enqueueAudit({ kind: 'settle', settlement });
  }

  private settleAlone(settlement: Settlement): Promise<AuditRecord> {
    return this.withConnection(async (client) => {
      // Round trip 1: claim the reservation (a second settlement finds it no longer held).
      const [, claimed] = await run(client, `BEGIN; ${this.sql.claimReservations([{ id: settlement.reservationId, kind: settlement.kind, actualMicros: settlement.actualMicros }], Date.now())}`);
      const reservation = claimed!.rows[0] as ClaimedReservation | undefined;
      if (!reservation) {
        await client.query('ROLLBACK');
        const existing = await client.query<{ status: string }>(this.sql.reservationStatus, [settlement.reservationId]);
        const status = existing.rows[0]?.status;
        throw new Error(status === undefined ? `no reservation ${settlement.reservationId}` : `reservation ${settlement.reservationId} is already ${status}`);
      }
      // Round trip 2: when the amount changed, lock the chain (THE order) and adjust the counters
      // of the reservation's own day; the objects it created; the audit row; COMMIT.
      const before: string[] = safeToCommitLazily([reservation]) ? [DONT_WAIT_FOR_FLUSH] : [];
      const delta = reservation.amount_micros - reservation.reserved_micros;
      if (delta !== 0) {
        const chainIds = JSON.parse(reservation.chain_json) as string[];
        before.push(this.sql.lockKeys(chainIds), this.sql.addSpend(chainIds, reservation.day, delta));
      }
      const paid = [...new Set(settlement.paidObjectIds ?? [])];
      if (paid.length > 0) {
        const countedMicros = settlement.paidObjectMicros ?? reservation.amount_micros;
        before.push(this.sql.countObjects(paid.map((objectId) => ({ rootId: reservation.root_id, objectId, countedMicros, reservationId: reservation.id }))));
      }
      return this.appendAuditLast(client, settlement.audit, before, false);
    });
  }

  appendAudit(entry: AuditEntry): Promise<AuditRecord> {
    return this.enqueueAudit({ kind: 'append', entry });
  }

  private runAlone(unit: AuditUnit): Promise<AuditRecord> {
    if (unit.kind === 'append') return this.withConnection((client) => this.appendAuditLast(client, unit.entry, [], true));
    return unit.settlement.kind === 'released' ? this.releaseAlone(unit.settlement) : this.settleAlone(unit.settlement);
  }

  /**
   * A release, alone in its transaction: how much it gives back depends on the other steps of its
   * object (`releasedObjectGiveBack`), read under the root key's row lock like an admission.
   * Round trip 1 locks the reservation row (lock order as everywhere: reservation -> keys ->
   * object count -> audit); round trip 2 locks the chain's keys and reads the object's count and
   * its surviving ceiling; round trip 3 writes, appends the audit row and commits.
   */
  private releaseAlone(settlement: Settlement): Promise<AuditRecord> {
    return this.withConnection(async (client) => {
      const [, found] = await run(client, `BEGIN; ${this.sql.lockReservation(settlement.reservationId)}`);
      const reservation = found!.rows[0] as (ClaimedReservation & { status: string; object_id: string | null; object_micros: number }) | undefined;
      if (!reservation || reservation.status !== 'held') {
        await client.query('ROLLBACK');
        throw new Error(reservation ? `reservation ${settlement.reservationId} is already ${reservation.status}` : `no reservation ${settlement.reservationId}`);
      }
      const chainIds = JSON.parse(reservation.chain_json) as string[];
      const objectId = reservation.object_id;
      let finalMicros = 0;
      const before: string[] = [];
      if (objectId !== null) {
        const [, countRow, ceilingRow] = await run(
          client,
          `${this.sql.lockKeys(chainIds)}; ${this.sql.objectCount(reservation.root_id, objectId)}; ${this.sql.survivingCeiling(reservation.root_id, objectId, reservation.id)}`,
        );
        const counted = (countRow!.rows[0] as { counted_micros: number } | undefined)?.counted_micros ?? 0;
        const surviving = (ceilingRow!.rows[0] as { ceiling: number }).ceiling;
        finalMicros = reservation.object_micros - releasedObjectGiveBack(reservation.object_micros, counted, surviving);
        if (finalMicros !== reservation.object_micros) before.push(this.sql.addToObject(reservation.root_id, objectId, finalMicros - reservation.object_micros));
      } else {
        before.push(this.sql.lockKeys(chainIds));
      }
      before.push(this.sql.endReservation(reservation.id, 'released', finalMicros, Date.now()));
      const delta = finalMicros - reservation.reserved_micros;
      if (delta !== 0) before.push(this.sql.addSpend(chainIds, reservation.day, delta));
      const paid = [...new Set(settlement.paidObjectIds ?? [])];
      if (paid.length > 0) {
        const countedMicros = settlement.paidObjectMicros ?? finalMicros;
        before.push(this.sql.countObjects(paid.map((id) => ({ rootId: reservation.root_id, objectId: id, countedMicros, reservationId: reservation.id }))));
      }
      return this.appendAuditLast(client, { ...settlement.audit, settledMicros: finalMicros }, before, false);
    });
  }

  /**
   * Group commit of settlements and audit appends, per instance. Every audit row takes the
   * advisory lock of this instance's chain and holds it through COMMIT (and its WAL flush); a
   * group pays that lock, and the flush, once for all its units.
   * Units queued while a group is in flight (or in one event-loop turn) form the next group: one
   * transaction that claims their reservations (ascending id), locks the union of their chains'
   * keys (THE order, one statement), adjusts the counters, counts the objects they created, takes
   * the audit lock and appends their rows in arrival order, then COMMIT. Releases run alone, one
   * after another (`releaseAlone`). Nothing resolves before that
   * COMMIT. Lock order is as for one settlement (reservation rows -> vault_keys by id -> audit
   * lock), so no deadlock. If the group's transaction fails in PostgreSQL (and rolls back, so
   * none of it happened), each unit runs again alone and fails or succeeds on its own; if the
   * connection broke (the outcome unknown), every unit fails with that error. A lone unit runs
   * exactly as before.
   */
  private enqueueAudit(unit: AuditUnit): Promise<AuditRecord> {
    return new Promise<AuditRecord>((resolve, reject) => {
      this.auditQueue.push({ unit, resolve, reject });
      this.scheduleAuditGroup();
    });
  }

  private scheduleAuditGroup(): void {
    if (this.auditScheduled || this.auditInFlight >= AUDIT_GROUPS_IN_FLIGHT) return;
    if (this.auditQueue.length === 0) {
      if (this.auditInFlight === 0) for (const resolve of this.auditIdle.splice(0)) resolve();
      return;
    }
    this.auditScheduled = true;
    defer(() => {
      this.auditScheduled = false;
      const batch = this.auditQueue.splice(0, AUDIT_GROUP_MAX);
      if (batch.length === 0) return this.scheduleAuditGroup();
      this.auditInFlight++;
      void this.runAuditGroup(batch).finally(() => {
        this.auditInFlight--;
        this.scheduleAuditGroup();
      });
    });
  }

  private async runAuditGroup(all: PendingAudit[]): Promise<void> {
    // a release reads its object's other steps under the root key's lock: never part of a group
    const releases = all.filter((pending) => pending.unit.kind === 'settle' && pending.unit.settlement.kind === 'released');
    const batch = all.filter((pending) => !releases.includes(pending));
    for (const release of releases) await this.runAlone(release.unit).then(release.resolve, release.reject);
    if (batch.length === 0) return;
    if (batch.length === 1) {
      const only = batch[0]!;
      await this.runAlone(only.unit).then(only.resolve, only.reject);
      return;
    }
    let outcomes: Outcome<AuditRecord>[];
    try {
      outcomes = await this.auditGroup(batch.map((pending) => pending.unit));
    } catch (error) {
      if (error instanceof GroupRolledBack) {
        await Promise.all(batch.map((pending) => this.runAlone(pending.unit).then(pending.resolve, pending.reject)));
      } else {
        for (const pending of batch) pending.reject(error);
      }
      return;
    }
    deliver(batch, outcomes);
  }

  /** One transaction for several units; throws GroupRolledBack when nothing of it happened. */
  private async auditGroup(units: AuditUnit[]): Promise<Outcome<AuditRecord>[]> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    const claimedBy = new Map<number, ClaimedReservation>();
    const appended = new Map<number, AppendedAudit>();
    const entries: AuditEntry[] = units.map((unit) => (unit.kind === 'settle' ? unit.settlement.audit : unit.entry));
    try {
      // Round trip 1: claim the reservations, ascending id (one order for every group); a
      // reservation named twice is claimed by its first unit, the later ones find it settled.
      const firstClaim = new Map<string, number>();
      units.forEach((unit, i) => {
        if (unit.kind === 'settle' && !firstClaim.has(unit.settlement.reservationId)) firstClaim.set(unit.settlement.reservationId, i);
      });
      const claimIds = [...firstClaim.keys()].sort();
      let begun = false;
      if (claimIds.length > 0) {
        const claims = claimIds.map((id) => {
          const { kind, actualMicros } = (units[firstClaim.get(id)!] as { settlement: Settlement }).settlement;
          return { id, kind, actualMicros };
        });
        const [, claimed] = await run(client, `BEGIN; ${this.sql.claimReservations(claims, Date.now())}`);
        begun = true;
        for (const row of claimed!.rows as ClaimedReservation[]) claimedBy.set(firstClaim.get(row.id)!, row);
      }
      // Round trip 2: the union of the chains' keys locked in THE order, the counters, the
      // objects created (one statement, sorted; the first unit to name an object keeps it, the
      // count is the largest), the audit lock, the audit rows in arrival order, COMMIT.
      const statements: string[] = begun ? [] : ['BEGIN'];
      if (units.every((unit) => unit.kind === 'settle') && safeToCommitLazily(claimedBy.values())) statements.push(DONT_WAIT_FOR_FLUSH);
      const paid = new Map<string, CountedObjectRow>();
      const lockIds = new Set<string>();
      const spends: string[] = [];
      units.forEach((unit, i) => {
        const reservation = claimedBy.get(i);
        if (unit.kind !== 'settle' || !reservation) return;
        const countedMicros = unit.settlement.paidObjectMicros ?? reservation.amount_micros;
        for (const objectId of unit.settlement.paidObjectIds ?? []) {
          const k = JSON.stringify([reservation.root_id, objectId]);
          const earlier = paid.get(k);
          if (!earlier) paid.set(k, { rootId: reservation.root_id, objectId, countedMicros, reservationId: reservation.id });
          else earlier.countedMicros = Math.max(earlier.countedMicros, countedMicros);
        }
        const delta = reservation.amount_micros - reservation.reserved_micros;
        if (delta !== 0) {
          const chainIds = JSON.parse(reservation.chain_json) as string[];
          for (const id of chainIds) lockIds.add(id);
          spends.push(this.sql.addSpend(chainIds, reservation.day, delta));
        }
      });
      if (lockIds.size > 0) statements.push(this.sql.lockKeys([...lockIds]));
      statements.push(...spends);
      // after the keys (an admission locks its keys, then its object's count)
      if (paid.size > 0) {
        const rows = [...paid.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, row]) => row);
        statements.push(this.sql.countObjects(rows));
      }
      statements.push(this.sql.lockAudit);
      // every unit's audit row but those of settlements whose reservation was no longer held
      const audits = units.flatMap((unit, i) => (unit.kind === 'settle' && !claimedBy.has(i) ? [] : [i]));
      if (audits.length > 0) statements.push(this.sql.insertAudits(audits.map((i) => ({ row: auditEntryToRow(entries[i]!), tail: canonicalTail(entries[i]!) }))));
      statements.push('COMMIT');
      const results = await run(client, statements.join(';\n'));
      // the audit rows, in the order of `audits`, are the answer just before COMMIT's
      if (audits.length > 0) {
        const rows = results[results.length - 2]!.rows as AppendedAudit[];
        audits.forEach((i, j) => appended.set(i, rows[j]!));
      }
    } catch (error) {
      try {
        // harmless (a warning) when no transaction is open
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      }
      client.release(broken);
      if (broken) throw error;
      throw new GroupRolledBack(error);
    }
    // committed: from here on, every unit has its own outcome
    try {
      const unclaimed = units.flatMap((unit, i) => (unit.kind === 'settle' && !claimedBy.has(i) ? [unit.settlement.reservationId] : []));
      const statuses = new Map<string, string>();
      if (unclaimed.length > 0) {
        try {
          const { rows } = await client.query<{ id: string; status: string }>(this.sql.reservationStatuses, [unclaimed]);
          for (const row of rows) statuses.set(row.id, row.status);
        } catch (error) {
          broken = error instanceof Error ? error : new Error(String(error));
        }
      }
      return units.map((unit, i) => {
        try {
          const row = appended.get(i);
          if (row === undefined) {
            const id = (unit as { settlement: Settlement }).settlement.reservationId;
            if (broken) throw broken;
            const status = statuses.get(id);
            throw new Error(status === undefined ? `no reservation ${id}` : `reservation ${id} is already ${status}`);
          }
          return { ok: true as const, value: this.checkedRecord(entries[i]!, row) };
        } catch (error) {
          return { ok: false as const, error };
        }
      });
    } finally {
      client.release(broken);
    }
  }

  /**
   * Sends, in ONE round trip: `before` (statements of the transaction, opened here when `begin`),
   * the audit lock, the audit row, COMMIT. The lock serialises the appends to this instance's
   * chain (the group commit, a reprice and a recovery may append at once): prev_hash is the hash
   * of the chain's last row, and seq (from a sequence: unique, with holes where a transaction
   * rolled back) is taken under the lock, so it ascends in chain order. The database computes the
   * hash, so the lock is held only inside PostgreSQL (the INSERT and the commit), never across the
   * network or this process's event loop. Other instances append to their own chains meanwhile.
   */
  private async appendAuditLast(client: pg.PoolClient, entry: AuditEntry, before: string[], begin: boolean): Promise<AuditRecord> {
    const statements = [...(begin ? ['BEGIN'] : []), ...before, this.sql.lockAudit, this.sql.insertAudits([{ row: auditEntryToRow(entry), tail: canonicalTail(entry) }]), 'COMMIT'];
    const results = await run(client, statements.join(';\n'));
    return this.checkedRecord(entry, results[results.length - 2]!.rows[0] as AppendedAudit);
  }

  private checkedRecord(entry: AuditEntry, inserted: AppendedAudit): AuditRecord {
    const record = chainedRecord(entry, { seq: inserted.seq, prevHash: inserted.prev_hash, hash: inserted.hash });
    // the database hashed the same text as auditHash; a difference would be a bug, made loud here
    if (auditHash(record.prevHash, entry) !== record.hash) {
      throw new Error(`audit row ${record.seq}: the hash PostgreSQL computed differs from auditHash; the chain will not verify from this row`);
    }
    return record;
  }

  async countedForObject(rootId: string, objectId: string): Promise<number | undefined> {
    const { rows } = await this.pool.query<{ counted_micros: number }>(this.sql.countedFor, [rootId, objectId]);
    return rows[0]?.counted_micros;
  }

  async reprice(request: Reprice): Promise<RepriceResult> {
    return this.withConnection(async (client): Promise<RepriceResult> => {
      // lock order as in settle: the reservation row, then the chain's keys, then the audit lock
      const [, found] = await run(client, `BEGIN; ${this.sql.lockPaidBy(request.rootId, request.objectId)}`);
      const paid = found!.rows[0] as { id: string; chain_json: string; day: string; amount_micros: number; status: string } | undefined;
      if (!paid || paid.status !== 'settled' || paid.amount_micros === request.actualMicros) {
        await client.query('ROLLBACK');
        return paid && paid.status === 'settled' ? { kind: 'unchanged', reservationId: paid.id } : { kind: 'unknown_object' };
      }
      const delta = request.actualMicros - paid.amount_micros;
      const chainIds = JSON.parse(paid.chain_json) as string[];
      const audit = await this.appendAuditLast(client, { ...request.audit, reservedMicros: paid.amount_micros, settledMicros: request.actualMicros }, [
        this.sql.lockKeys(chainIds),
        this.sql.addSpend(chainIds, paid.day, delta),
        this.sql.setAmount(paid.id, request.actualMicros),
        this.sql.addToObject(request.rootId, request.objectId, delta),
      ], false);
      return { kind: 'repriced', reservationId: paid.id, previousMicros: paid.amount_micros, actualMicros: request.actualMicros, audit };
    });
  }

  async keySpend(ids: readonly string[], day: string): Promise<Map<string, KeySpend>> {
    const spend = new Map<string, KeySpend>();
    if (ids.length === 0) return spend;
    const { rows } = await this.pool.query<{ id: string; daily: number | null; total: number | null }>(this.sql.keySpend, [ids, day]);
    for (const row of rows) spend.set(row.id, { dailyMicros: row.daily ?? 0, totalMicros: row.total ?? 0 });
    return spend;
  }

  async spendByDay(id: string, fromDay: string, toDay: string): Promise<{ day: string; micros: number }[]> {
    const { rows } = await this.pool.query<{ day: string; micros: number }>(this.sql.spendByDay, [id, fromDay, toDay]);
    return rows;
  }

  async spend(query: SpendQuery): Promise<SpendRow[]> {
    if (query.groupBy.by === 'request_vendor') {
      const byRequest = requestVendorSpendSql(query, POSTGRES_DIALECT, this.sql.t('audit'));
      const sql = `SELECT grp, micros::bigint AS micros, requests::integer AS requests FROM (${byRequest.sql}) g ORDER BY micros DESC, grp COLLATE "C"`;
      const { rows } = await this.pool.query<{ grp: string; micros: number; requests: number }>(sql, byRequest.params);
      return rows.map((row) => ({ group: row.grp, micros: Number(row.micros), requests: row.requests }));
    }
    const params: unknown[] = [query.fromDay, query.toDay];
    const group = spendGroupExpression(query.groupBy, POSTGRES_DIALECT, params);
    // ordered like SQLite: biggest first, then the group in byte order with null first
    const sql = `SELECT grp, micros, requests FROM (
        SELECT ${group} AS grp, SUM(r.amount_micros)::bigint AS micros, COUNT(*)::integer AS requests
        FROM ${this.sql.t('reservations')} r JOIN ${this.sql.t('vault_keys')} k ON k.id = r.key_id
        WHERE r.day BETWEEN $1 AND $2 GROUP BY 1
      ) g ORDER BY micros DESC, grp COLLATE "C" NULLS FIRST`;
    const { rows } = await this.pool.query<{ grp: string | null; micros: number; requests: number }>(sql, params);
    return rows.map((row) => ({ group: row.grp, micros: row.micros, requests: row.requests }));
  }

  async queryAudit(filter: AuditFilter): Promise<AuditRecord[]> {
    const where = auditFilterWhere(filter, POSTGRES_DIALECT);
    const sql = `SELECT * FROM ${this.sql.t('audit')} ${where.sql} ORDER BY seq DESC LIMIT ${where.limit}`;
    const { rows } = await this.pool.query<AuditRow>(sql, where.params);
    return rows.map(rowToAudit);
  }

  async auditChainIds(): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string }>(this.sql.auditChainIds);
    return rows.map((row) => row.id);
  }

  async auditChain(chainId: string, afterSeq: number, pageSize: number): Promise<AuditRecord[]> {
    const { rows } = await this.pool.query<AuditRow>(this.sql.auditChain, [chainId, afterSeq, pageSize]);
    return rows.map(rowToAudit);
  }
}
