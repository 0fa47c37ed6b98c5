/**
 * Row <-> domain mapping shared by the SQL stores, so SQLite and PostgreSQL agree byte for byte on
 * what a key or an audit row looks like (the audit hash depends on it).
 */
import { abandonedAudit, decodeRequestFacts, policyVendors, type AuditEntry, type AuditRecord, type Policy, type VaultKeyRecord } from '@keyleash/core';

export interface KeyRow {
  id: string;
  parent_id: string | null;
  root_id: string;
  depth: number;
  secret_hash: string;
  vendor: string;
  policy_json: string;
  created_at: number | string;
  revoked_at: number | string | null;
}

export function keyToRow(key: VaultKeyRecord) {
  return {
    id: key.id,
    parent_id: key.parentId,
    root_id: key.rootId,
    depth: key.depth,
    secret_hash: key.secretHash,
    // a key covering several vendors groups its spend as e.g. "stripe+openai" (`group_by=vendor`)
    vendor: policyVendors(key.policy).join('+'),
    policy_json: JSON.stringify(key.policy),
    metadata_json: JSON.stringify(key.policy.metadata),
    daily_cap_micros: key.policy.dailyCapMicros,
    total_cap_micros: key.policy.totalCapMicros,
    rate_limit_per_minute: key.policy.rateLimitPerMinute,
    expires_at: key.policy.expiresAt,
    created_at: key.createdAt,
    revoked_at: key.revokedAt,
  };
}

export function rowToKey(row: KeyRow): VaultKeyRecord {
  return {
    id: row.id,
    parentId: row.parent_id,
    rootId: row.root_id,
    depth: Number(row.depth),
    secretHash: row.secret_hash,
    policy: JSON.parse(row.policy_json) as Policy,
    createdAt: Number(row.created_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
  };
}

export interface AuditRow {
  seq: number | string;
  at: number | string;
  vault_key_id: string | null;
  root_key_id: string | null;
  metadata_json: string;
  vendor: string;
  method: string;
  path: string;
  status: number;
  decision: string;
  reason: string | null;
  reserved_micros: number | string;
  settled_micros: number | string;
  upstream_request_id: string | null;
  idempotency_key: string | null;
  latency_ms: number | string;
  attribution_json: string;
  prev_hash: string;
  hash: string;
}

export function auditEntryToRow(entry: AuditEntry) {
  return {
    at: entry.at,
    vault_key_id: entry.vaultKeyId,
    root_key_id: entry.rootKeyId,
    metadata_json: JSON.stringify(entry.metadata),
    vendor: entry.vendor,
    method: entry.method,
    path: entry.path,
    status: entry.status,
    decision: entry.decision,
    reason: entry.reason,
    reserved_micros: entry.reservedMicros,
    settled_micros: entry.settledMicros,
    upstream_request_id: entry.upstreamRequestId,
    idempotency_key: entry.idempotencyKey,
    latency_ms: entry.latencyMs,
    attribution_json: JSON.stringify(entry.attribution),
  };
}

export function rowToAudit(row: AuditRow): AuditRecord {
  return {
    seq: Number(row.seq),
    at: Number(row.at),
    vaultKeyId: row.vault_key_id,
    rootKeyId: row.root_key_id,
    metadata: JSON.parse(row.metadata_json) as Record<string, string>,
    vendor: row.vendor,
    method: row.method,
    path: row.path,
    status: Number(row.status),
    decision: row.decision as AuditRecord['decision'],
    reason: row.reason,
    reservedMicros: Number(row.reserved_micros),
    settledMicros: Number(row.settled_micros),
    upstreamRequestId: row.upstream_request_id,
    idempotencyKey: row.idempotency_key,
    latencyMs: Number(row.latency_ms),
    attribution: JSON.parse(row.attribution_json) as Record<string, string>,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/** Metadata field names are validated to [A-Za-z0-9_.-] at issue; re-checked before they touch SQL. */
export function assertSafeMetadataField(field: string): void {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(field)) throw new Error(`invalid metadata field name: ${field}`);
}

/** A held reservation as crash recovery reads it (joined with its key's metadata and vendor). */
export interface HeldRow {
  id: string;
  key_id: string;
  root_id: string;
  reserved_micros: number;
  created_at: number;
  request_json: string | null;
  metadata_json: string;
  vendor: string;
}

/** the audit row of a held reservation recovered after a crash (see abandonedAudit) */
export function abandonedAuditOf(row: HeldRow): AuditEntry {
  return abandonedAudit({
    keyId: row.key_id,
    rootId: row.root_id,
    reservedMicros: row.reserved_micros,
    createdAt: row.created_at,
    metadata: JSON.parse(row.metadata_json) as Record<string, string>,
    keyVendor: row.vendor,
    facts: decodeRequestFacts(row.request_json),
  });
}
