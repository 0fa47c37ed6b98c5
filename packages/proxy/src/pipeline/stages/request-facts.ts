/** What the request looked like, for its audit row whatever happens to it. */
import type { AuditDecision, AuditEntry, VaultKeyRecord } from '@keyleash/core';
import type { InboundRequest, Vendor } from '../../vendors/vendor.ts';

export interface RequestFacts {
  vendor: Vendor;
  inbound: InboundRequest;
  startedAt: number;
  startedHr: bigint;
  attribution: Record<string, string>;
  /** the vendor's idempotency key of the request (read once: Twilio's is a hash of the request) */
  idempotencyKey: string | undefined;
  /** the raw path (no query string: it may carry customer data) truncated for the audit */
  auditedPath: string;
  auditedIdempotencyKey: string | null;
}

export function requestFacts(vendor: Vendor, inbound: InboundRequest, startedAt: number, attribution: Record<string, string>): RequestFacts {
  const idempotencyKey = vendor.idempotencyKey(inbound);
  return {
    vendor,
    inbound,
    startedAt,
    startedHr: process.hrtime.bigint(),
    attribution,
    auditedPath: inbound.rawPath.slice(0, 512),
    idempotencyKey,
    auditedIdempotencyKey: idempotencyKey?.slice(0, 255) ?? null,
  };
}

export function elapsedMs(facts: RequestFacts): number {
  return Math.round(Number(process.hrtime.bigint() - facts.startedHr) / 1e6);
}

/** What the audit row says happened to the request. */
export interface AuditOutcome {
  status: number;
  decision: AuditDecision;
  reason: string | null;
  reservedMicros: number;
  settledMicros: number;
  upstreamRequestId?: string | null;
}

/**
 * The request's audit row, its latency measured now. One object literal in the entry's field
 * order, not spreads of partial rows: every row then has the same shape, and none is copied.
 */
export function auditEntry(facts: RequestFacts, key: VaultKeyRecord | null, keyId: string | null, outcome: AuditOutcome): AuditEntry {
  return {
    at: facts.startedAt,
    vaultKeyId: key?.id ?? keyId,
    rootKeyId: key?.rootId ?? null,
    metadata: key?.policy.metadata ?? {},
    vendor: facts.vendor.name,
    method: facts.inbound.method,
    path: facts.auditedPath,
    status: outcome.status,
    decision: outcome.decision,
    reason: outcome.reason,
    reservedMicros: outcome.reservedMicros,
    settledMicros: outcome.settledMicros,
    upstreamRequestId: outcome.upstreamRequestId ?? null,
    idempotencyKey: facts.auditedIdempotencyKey,
    latencyMs: elapsedMs(facts),
    attribution: facts.attribution,
  };
}
