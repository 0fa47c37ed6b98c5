/**
 * A reservation left open by a crash: the proxy reserved the money (durably) and may have
 * forwarded the request, then died before settling it. Nobody knows whether the vendor acted, so
 * the reservation stays counted in full (`kept`) and the audit log gets the row the request never
 * got, saying so. Both stores recover such reservations when they open, before serving (see
 * `Store.recoverAbandoned`), so the audit log is never behind what was forwarded after a restart.
 */
import type { AuditEntry } from './audit.ts';
import type { MicroUsd } from './money.ts';

/**
 * The facts of the request an admission is for, known before it is forwarded. The store keeps
 * them with the reservation: they are what a recovered reservation's audit row says.
 */
export interface RequestFacts {
  vendor: string;
  method: string;
  /** as in the audit row (no query string, truncated) */
  path: string;
  idempotencyKey: string | null;
  attribution: Record<string, string>;
  /** when the request arrived (epoch ms), the audit row's `at` */
  at: number;
}

/** the audit `reason` of a reservation recovered after a crash */
export const OUTCOME_UNKNOWN_REASON = 'outcome_unknown_kept';

/** What a store knows about an abandoned reservation when it recovers it. */
export interface AbandonedReservation {
  keyId: string;
  rootId: string;
  reservedMicros: MicroUsd;
  createdAt: number;
  /** the key's metadata and vendor (read from the key: the reservation does not copy them) */
  metadata: Record<string, string>;
  keyVendor: string;
  /** undefined for a reservation written before the facts were kept with it */
  facts: RequestFacts | undefined;
}

/**
 * The audit row of a recovered reservation: decision `allowed` (it was admitted), status 0 (no
 * answer is known), the whole reservation kept.
 */
export function abandonedAudit(reservation: AbandonedReservation): AuditEntry {
  const facts = reservation.facts;
  return {
    at: facts?.at ?? reservation.createdAt,
    vaultKeyId: reservation.keyId,
    rootKeyId: reservation.rootId,
    metadata: reservation.metadata,
    vendor: facts?.vendor ?? reservation.keyVendor,
    method: facts?.method ?? 'UNKNOWN',
    path: facts?.path ?? '',
    status: 0,
    decision: 'allowed',
    reason: OUTCOME_UNKNOWN_REASON,
    reservedMicros: reservation.reservedMicros,
    settledMicros: reservation.reservedMicros,
    upstreamRequestId: null,
    idempotencyKey: facts?.idempotencyKey ?? null,
    latencyMs: 0,
    attribution: facts?.attribution ?? {},
  };
}

/** The facts as stored with a reservation (one JSON column), and back; unreadable text gives undefined. */
export function encodeRequestFacts(facts: RequestFacts | undefined): string | null {
  return facts === undefined ? null : JSON.stringify(facts);
}

export function decodeRequestFacts(text: string | null): RequestFacts | undefined {
  if (text === null) return undefined;
  try {
    return JSON.parse(text) as RequestFacts;
  } catch {
    return undefined;
  }
}
