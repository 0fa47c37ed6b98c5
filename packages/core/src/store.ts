import type { AlertStore } from './alerts/alert-store.ts';
import type { ApprovalStore } from './approvals/approval-store.ts';
import type { RequestFacts } from './abandoned-reservation.ts';
import type { AuditDecision, AuditEntry, AuditRecord } from './audit.ts';
import type { ChildInsertion } from './child-insertion.ts';
import type { MicroUsd } from './money.ts';
import type { VaultKeyRecord } from './vault-key-record.ts';

/** Why the store refused to admit a request; `keyId` names the key in the chain that refused. */
export type AdmissionRefusal =
  | { kind: 'unknown_key'; keyId: string }
  | { kind: 'revoked'; keyId: string }
  | { kind: 'expired'; keyId: string }
  | { kind: 'rate_limited'; keyId: string; limitPerMinute: number }
  | { kind: 'daily_cap'; keyId: string; capMicros: MicroUsd; spentMicros: MicroUsd; requestedMicros: MicroUsd }
  | { kind: 'total_cap'; keyId: string; capMicros: MicroUsd; spentMicros: MicroUsd; requestedMicros: MicroUsd };

export interface AdmitRequest {
  /** The presenting key first, then its parent, … up to the root. */
  keyChain: readonly string[];
  amountMicros: MicroUsd;
  now: number;
  /**
   * A vendor idempotency key. A repeat under the same vault key is admitted at no cost, up to the
   * amount its first use counted (a larger amount pays the difference); if that first use was
   * released (the vendor refused it and saved no result), the repeat is priced as a new request.
   */
  idempotencyKey?: string | undefined;
  /**
   * A step that can make an existing vendor object move money (confirm, capture, raising the
   * amount of a PaymentIntent, …). The store adds to `amountMicros` what the object's ceiling
   * exceeds what the key tree (the chain's root) already counted for that object, and counts the
   * object at the larger of the two from now on: read and written in the same atomic operation as
   * the reservation, so concurrent steps on one object are each counted exactly once.
   */
  object?: ObjectStep | undefined;
  /**
   * What the request's audit row will say about it, kept with the reservation in the same atomic
   * operation: if this process dies before settling, `recoverAbandoned` writes the audit row from
   * these facts (outcome unknown, cost kept).
   */
  request?: RequestFacts | undefined;
}

export interface ObjectStep {
  /** the vendor object's id, e.g. a PaymentIntent id */
  id: string;
  /** what the object can move once this step has run, in micro-USD */
  ceilingMicros: MicroUsd;
}

export type Admission =
  | { ok: true; reservationId: string; reservedMicros: MicroUsd; idempotentReplay: boolean }
  | { ok: false; refusal: AdmissionRefusal };

/** How a reservation ends once the upstream has answered (or not). */
export type SettlementKind =
  /** the upstream answered 2xx: the reservation becomes the actual amount */
  | 'settled'
  /** the upstream refused (4xx): no money moved, the reservation is given back */
  | 'released'
  /** 5xx or timeout: the money may have moved, so the reservation stays counted */
  | 'kept';

export interface Settlement {
  reservationId: string;
  kind: SettlementKind;
  /**
   * For 'settled': the amount the vendor's answer carries. Ignored for 'released' / 'kept', and for
   * a reservation with an object step (its amount was decided against the object at admission).
   */
  actualMicros: MicroUsd;
  /**
   * Vendor objects this request created under this key tree (e.g. a PaymentIntent id, a Twilio
   * message SID), so a later step on the object counts only what exceeds what was counted, and a
   * later answer revealing the real price can correct this reservation (`reprice`). Remembered with
   * this reservation's id; the first reservation to name an object keeps it.
   */
  paidObjectIds?: readonly string[];
  /**
   * What the key tree counts for each of `paidObjectIds` from now on (at least; a larger count
   * already recorded stays). Default: this reservation's final amount. An idempotent replay names
   * what its first use counted for the object it created.
   */
  paidObjectMicros?: MicroUsd;
  /**
   * The audit row. For 'released', the store writes what stays counted into `settledMicros`
   * (see `Store.settle`).
   */
  audit: AuditEntry;
}

/** A vendor answer revealed what an object paid for earlier really cost (e.g. a Twilio status fetch). */
export interface Reprice {
  /** the key tree the object was paid for in (the tree of the key that asked) */
  rootId: string;
  objectId: string;
  /** the real cost */
  actualMicros: MicroUsd;
  /**
   * The audit row of the correction. The store fills `reservedMicros` (what was counted until now)
   * and `settledMicros` (what is counted from now on, = actualMicros) before appending it.
   */
  audit: AuditEntry;
}

export type RepriceResult =
  /** the reservation now counts actualMicros; the difference was applied to every key of its chain, on its own day */
  | { kind: 'repriced'; reservationId: string; previousMicros: MicroUsd; actualMicros: MicroUsd; audit: AuditRecord }
  /** the object's reservation already counts exactly this (nothing written) */
  | { kind: 'unchanged'; reservationId: string }
  /** no settled reservation in this tree paid for the object (nothing written) */
  | { kind: 'unknown_object' };

export interface KeyFilter {
  metadata?: Record<string, string>;
  rootId?: string;
  vendor?: string;
}

export interface AuditFilter {
  vaultKeyId?: string;
  rootKeyId?: string;
  metadata?: Record<string, string>;
  since?: number;
  until?: number;
  decision?: AuditDecision;
  /** newest first; default 100, at most 10 000 */
  limit?: number;
  /** only rows with seq greater than this (for tailing) */
  afterSeq?: number;
}

export interface KeySpend {
  /** the key's own spend plus its descendants' (what its caps are checked against) */
  dailyMicros: MicroUsd;
  totalMicros: MicroUsd;
}

/**
 * `vendor` groups by the vendor(s) of the key (from the ledger, in-flight reservations included;
 * a key covering several vendors is one group, e.g. "stripe+openai"); `request_vendor` splits by
 * the vendor each request went to (from the audit log: settled amounts, price corrections included).
 */
export type SpendGrouping = { by: 'vault_key' } | { by: 'root' } | { by: 'vendor' } | { by: 'request_vendor' } | { by: 'metadata'; field: string };

export interface SpendQuery {
  groupBy: SpendGrouping;
  /** inclusive UTC days, YYYY-MM-DD */
  fromDay: string;
  toDay: string;
}

export interface SpendRow {
  group: string | null;
  micros: MicroUsd;
  requests: number;
}

/**
 * Everything keyleash persists. Asynchronous even though SQLite is synchronous, so PostgreSQL
 * implements the same interface. `admit` and `settle` are each ONE atomic operation across the
 * whole key chain: that is where "no overspend, ever" is enforced.
 */
export interface Store {
  readonly kind: string;
  /**
   * True when this store's own reads (`queryAudit`, `keySpend`, `spend`, …) first commit any
   * settlement still queued, so the proxy may answer the client before the settlement commits
   * and the next request's admission can carry it (one transaction per request instead of two).
   * A reader of the same store through another process or instance may see the settlement up to
   * a few milliseconds late; a crash in that gap keeps the reservation counted and audits it as
   * outcome unknown (docs/durability.md). False: the proxy answers only once `settle` resolved.
   */
  readonly answersBeforeSettle: boolean;
  migrate(): Promise<void>;
  close(): Promise<void>;

  insertKey(key: VaultKeyRecord): Promise<void>;
  /**
   * Inserts a child key only if its parent and every ancestor exist and are neither revoked nor
   * expired at `now` (`parentChainRefusal`), in ONE transaction: a concurrent `revokeTree` of any
   * ancestor either sees the new child (and revokes it too) or is seen by this check.
   */
  insertChildKey(child: VaultKeyRecord, now: number): Promise<ChildInsertion>;
  getKey(id: string): Promise<VaultKeyRecord | undefined>;
  /** the key and its ancestors, the key first; empty when the key does not exist */
  getKeyChain(id: string): Promise<VaultKeyRecord[]>;
  listKeys(filter?: KeyFilter): Promise<VaultKeyRecord[]>;
  /** the key and every descendant */
  listSubtree(id: string): Promise<VaultKeyRecord[]>;
  /** revokes the key and all its descendants at once; returns the ids newly revoked */
  revokeTree(id: string, now: number): Promise<string[]>;

  /**
   * Checks, for every key in the chain: exists, not revoked, not expired, rate limit, daily cap,
   * total cap; then reserves `amountMicros` (plus, with an object step, what the object's ceiling
   * exceeds what the tree counted for it) against all of them. All or nothing.
   */
  admit(request: AdmitRequest): Promise<Admission>;
  /**
   * Ends a reservation and appends its audit row, atomically. 'released' gives the reservation
   * back, except for an object step: it gives back only the part of its increase that no other
   * step of the same object (held, settled or kept) still relies on; the rest stays counted on the
   * released reservation (never moved to another reservation, whose key was not checked for it),
   * so the tree never counts an object below what a surviving step lets it move.
   */
  settle(settlement: Settlement): Promise<AuditRecord>;
  /**
   * Ends the reservations left held by store instances that are gone (a crash between admit and
   * settle): each is `kept` at its full amount and gets its audit row (`abandonedAudit`: outcome
   * unknown). Never touches a reservation of an instance that is still alive (several instances
   * may share one store): see docs/durability.md for how each store tells. Returns how many were
   * recovered. `keyleash serve` runs it once at start, before it listens.
   */
  recoverAbandoned(): Promise<number>;
  /** appends an audit row for a request that was refused before any reservation */
  appendAudit(entry: AuditEntry): Promise<AuditRecord>;

  /**
   * What the key tree rooted at rootId counts for a vendor object (micro-USD), or undefined when
   * nothing was counted for it in that tree.
   */
  countedForObject(rootId: string, objectId: string): Promise<MicroUsd | undefined>;
  /**
   * Corrects the amount a settled reservation counts, from the object it paid for, and appends the
   * audit row of the correction: one atomic operation. The difference (either sign) goes to the
   * reservation's chain on the reservation's UTC day and to their totals. Idempotent: the same
   * price again is `unchanged`. Only 'settled' reservations are corrected.
   */
  reprice(request: Reprice): Promise<RepriceResult>;

  keySpend(ids: readonly string[], day: string): Promise<Map<string, KeySpend>>;
  spendByDay(id: string, fromDay: string, toDay: string): Promise<{ day: string; micros: MicroUsd }[]>;
  spend(query: SpendQuery): Promise<SpendRow[]>;

  queryAudit(filter: AuditFilter): Promise<AuditRecord[]>;

  /** recorded alerts and their delivery outbox (alerts/alert-store.ts) */
  readonly alerts: AlertStore;
  /** calls held for a human decision (approvals/approval-store.ts) */
  readonly approvals: ApprovalStore;
  /**
   * The audit log's hash chains, for `keyleash audit verify`. SQLite keeps one (its writers are
   * serialised by the database file anyway); PostgreSQL one per store instance, so instances never
   * wait on each other to append, plus `shared`, the one chain rows written before schema version
   * 21 formed. Every row belongs to exactly one chain.
   */
  auditChainIds(): Promise<string[]>;
  /** one chain's rows in chain order (ascending seq), in pages */
  auditChain(chainId: string, afterSeq: number, pageSize: number): Promise<AuditRecord[]>;
}
