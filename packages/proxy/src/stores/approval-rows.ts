/** Row <-> domain mapping of held calls, shared by the SQL stores. */
import type { ApprovalRecord, ApprovalStatus, NewApproval } from '@keyleash/core';

export interface ApprovalRow {
  id: string;
  key_id: string;
  key_chain_json: string;
  idempotency_key: string | null;
  fingerprint: string;
  reservation_id: string;
  amount_micros: number | string;
  vendor: string;
  method: string;
  path: string;
  metadata_json: string;
  status: string;
  created_at: number | string;
  expires_at: number | string;
  decided_at: number | string | null;
}

export const APPROVAL_INSERT_COLUMNS = [
  'id', 'key_id', 'key_chain_json', 'idempotency_key', 'fingerprint', 'reservation_id', 'amount_micros', 'vendor', 'method', 'path', 'metadata_json', 'status', 'created_at', 'expires_at',
] as const;

export function newApprovalValues(approval: NewApproval): unknown[] {
  return [
    approval.id,
    approval.keyId,
    JSON.stringify(approval.keyChain),
    approval.idempotencyKey,
    approval.fingerprint,
    approval.reservationId,
    approval.amountMicros,
    approval.vendor,
    approval.method,
    approval.path,
    JSON.stringify(approval.metadata),
    'reserving',
    approval.createdAt,
    approval.expiresAt,
  ];
}

export function rowToApproval(row: ApprovalRow): ApprovalRecord {
  return {
    id: row.id,
    keyId: row.key_id,
    keyChain: JSON.parse(row.key_chain_json) as string[],
    idempotencyKey: row.idempotency_key,
    fingerprint: row.fingerprint,
    reservationId: row.reservation_id,
    amountMicros: Number(row.amount_micros),
    vendor: row.vendor,
    method: row.method,
    path: row.path,
    metadata: JSON.parse(row.metadata_json) as Record<string, string>,
    status: row.status as ApprovalStatus,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    decidedAt: row.decided_at === null ? null : Number(row.decided_at),
  };
}

/**
 * The same table in both dialects. The unique (key, Idempotency-Key) index is what makes a retry
 * find its approval instead of opening a second one (NULL keys are distinct in both databases).
 */
export function approvalsTableSql(table: string): string {
  return `
    CREATE TABLE ${table} (
      id TEXT PRIMARY KEY,
      key_id TEXT NOT NULL,
      key_chain_json TEXT NOT NULL,
      idempotency_key TEXT,
      fingerprint TEXT NOT NULL,
      reservation_id TEXT NOT NULL,
      amount_micros BIGINT NOT NULL,
      vendor TEXT NOT NULL,
      method TEXT NOT NULL,
      path TEXT NOT NULL,
      metadata_json TEXT NOT NULL,
      status TEXT NOT NULL,
      created_at BIGINT NOT NULL,
      expires_at BIGINT NOT NULL,
      decided_at BIGINT
    );
    CREATE UNIQUE INDEX approvals_idempotency ON ${table} (key_id, idempotency_key);
    CREATE INDEX approvals_status ON ${table} (status, created_at);
  `;
}
