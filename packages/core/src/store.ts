import type { AuditDecision, AuditEntry, AuditRecord } from './audit.ts';
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
  /** For 'settled': the amount the vendor's answer carries. Ignored for 'released' / 'kept'. */
  actualMicros: MicroUsd;
  /**
   * Vendor objects paid for under this key tree (e.g. a PaymentIntent id, a Twilio message SID),
   * so a later confirm is not counted twice, and a later answer revealing the real price can
   * correct this reservation (`reprice`). Remembered with this reservation's id; the first
   * reservation to name an object keeps it.
   */
  paidObjectIds?: readonly string[];
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
  migrate(): Promise<void>;
  close(): Promise<void>;

  insertKey(key: VaultKeyRecord): Promise<void>;
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
   * total cap; then reserves `amountMicros` against all of them. All or nothing.
   */
  admit(request: AdmitRequest): Promise<Admission>;
  /** ends a reservation and appends its audit row, atomically */
  settle(settlement: Settlement): Promise<AuditRecord>;
  /** appends an audit row for a request that was refused before any reservation */
  appendAudit(entry: AuditEntry): Promise<AuditRecord>;

  /** was this vendor object already paid for within the key tree rooted at rootId? */
  isObjectPaid(rootId: string, objectId: string): Promise<boolean>;
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
  /** every audit row in chain order, in pages, for `keyleash audit verify` */
  auditChain(afterSeq: number, pageSize: number): Promise<AuditRecord[]>;
}
