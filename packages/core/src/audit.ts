import type { MicroUsd } from './money.ts';
import { sha256Hex } from './sha256.ts';

export type AuditDecision = 'allowed' | 'refused';

/**
 * One row per proxied or refused vendor request. Never holds a secret: only key ids, the
 * request line, the outcome and the money. Rows are chained by hash so tampering is detectable.
 */
export interface AuditEntry {
  at: number;
  vaultKeyId: string | null;
  rootKeyId: string | null;
  metadata: Record<string, string>;
  vendor: string;
  method: string;
  path: string;
  status: number;
  decision: AuditDecision;
  /** `keyleash_…` refusal code, or what happened upstream (`upstream_5xx_kept`, `timeout_kept`, …). */
  reason: string | null;
  reservedMicros: MicroUsd;
  settledMicros: MicroUsd;
  upstreamRequestId: string | null;
  idempotencyKey: string | null;
  latencyMs: number;
  /** Keyleash-Agent / -Run-Id / -Tool / -Tool-Call-Id as sent by an adapter. */
  attribution: Record<string, string>;
}

export interface AuditRecord extends AuditEntry {
  seq: number;
  prevHash: string;
  hash: string;
}

export const GENESIS_HASH = '0'.repeat(64);

/** Where an entry sits in its chain, as the store wrote it. */
export type ChainLink = Pick<AuditRecord, 'seq' | 'prevHash' | 'hash'>;

/**
 * The entry as the chain holds it. Object.assign rather than `{ ...entry, seq, prevHash, hash }`:
 * V8 in Node 20 takes a slow path when a spread is followed by properties the source lacks
 * (measured on an audit entry: 6 µs against 0.24 µs), and stores build one per request.
 */
export function chainedRecord(entry: AuditEntry, link: ChainLink): AuditRecord {
  return Object.assign({}, entry, link);
}

/**
 * The exact text an audit row's hash covers: a JSON array, `prevHash` first, then the entry's
 * fields in a fixed order (so any store computes the same hash). A store that hashes inside its
 * database (PostgreSQL, to keep the chain lock off the network) hashes this same text.
 */
export function auditCanonical(prevHash: string, entry: AuditEntry): string {
  return JSON.stringify([
    prevHash,
    entry.at,
    entry.vaultKeyId,
    entry.rootKeyId,
    sortedObject(entry.metadata),
    entry.vendor,
    entry.method,
    entry.path,
    entry.status,
    entry.decision,
    entry.reason,
    entry.reservedMicros,
    entry.settledMicros,
    entry.upstreamRequestId,
    entry.idempotencyKey,
    entry.latencyMs,
    sortedObject(entry.attribution),
  ]);
}

/** sha256 (hex) of `auditCanonical`. */
export function auditHash(prevHash: string, entry: AuditEntry): string {
  return sha256Hex(auditCanonical(prevHash, entry));
}

function sortedObject(record: Record<string, string>): [string, string][] {
  return Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export type ChainCheck = { ok: true; rows: number } | { ok: false; rows: number; brokenAtSeq: number; reason: string };

/**
 * Recomputes every link of the chain, one row at a time, so a long log is verified in pages
 * without holding it in memory.
 */
export class AuditChainVerifier {
  private prev = GENESIS_HASH;
  private count = 0;
  private failure: ChainCheck | undefined;

  /** false once a broken link was found (later rows are not checked) */
  push(row: AuditRecord): boolean {
    if (this.failure) return false;
    this.count += 1;
    if (row.prevHash !== this.prev) {
      this.failure = { ok: false, rows: this.count, brokenAtSeq: row.seq, reason: 'prev_hash does not match the previous row' };
    } else if (auditHash(row.prevHash, row) !== row.hash) {
      this.failure = { ok: false, rows: this.count, brokenAtSeq: row.seq, reason: 'row content does not match its hash' };
    }
    this.prev = row.hash;
    return this.failure === undefined;
  }

  result(): ChainCheck {
    return this.failure ?? { ok: true, rows: this.count };
  }
}

/** Walks rows in seq order and recomputes every link. */
export function verifyAuditChain(rows: Iterable<AuditRecord>): ChainCheck {
  const verifier = new AuditChainVerifier();
  for (const row of rows) if (!verifier.push(row)) break;
  return verifier.result();
}
