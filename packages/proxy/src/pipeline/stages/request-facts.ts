/** What the request looked like, for its audit row whatever happens to it. */
import type { AuditEntry, VaultKeyRecord } from '@keyleash/core';
import type { InboundRequest, Vendor } from '../../vendors/vendor.ts';

export interface RequestFacts {
  vendor: Vendor;
  inbound: InboundRequest;
  startedAt: number;
  startedHr: bigint;
  attribution: Record<string, string>;
}

export function elapsedMs(facts: RequestFacts): number {
  return Math.round(Number(process.hrtime.bigint() - facts.startedHr) / 1e6);
}

export function baseAudit(facts: RequestFacts, key: VaultKeyRecord | null, keyId: string | null): Omit<AuditEntry, 'status' | 'decision' | 'reason' | 'reservedMicros' | 'settledMicros'> {
  return {
    at: facts.startedAt,
    vaultKeyId: key?.id ?? keyId,
    rootKeyId: key?.rootId ?? null,
    metadata: key?.policy.metadata ?? {},
    vendor: facts.vendor.name,
    method: facts.inbound.method,
    // the raw path (no query string: it may carry customer data) truncated for the audit
    path: facts.inbound.rawPath.slice(0, 512),
    upstreamRequestId: null,
    idempotencyKey: facts.vendor.idempotencyKey(facts.inbound)?.slice(0, 255) ?? null,
    latencyMs: elapsedMs(facts),
    attribution: facts.attribution,
  };
}
