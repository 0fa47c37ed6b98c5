import { microsToUsd } from '../money.ts';
import type { ApprovalRecord, ApprovalStatus } from './approval-store.ts';

/** One held call as `GET /api/approvals` shows it. */
export interface ApprovalJson {
  id: string;
  status: ApprovalStatus;
  vault_key_id: string;
  key_chain: string[];
  vendor: string;
  method: string;
  path: string;
  amount_usd: number;
  amount_micros: number;
  metadata: Record<string, string>;
  idempotency_key: string | null;
  created_at: string;
  expires_at: string;
  decided_at: string | null;
}

export function approvalToJson(approval: ApprovalRecord): ApprovalJson {
  return {
    id: approval.id,
    status: approval.status,
    vault_key_id: approval.keyId,
    key_chain: approval.keyChain,
    vendor: approval.vendor,
    method: approval.method,
    path: approval.path,
    amount_usd: microsToUsd(approval.amountMicros),
    amount_micros: approval.amountMicros,
    metadata: approval.metadata,
    idempotency_key: approval.idempotencyKey,
    created_at: new Date(approval.createdAt).toISOString(),
    expires_at: new Date(approval.expiresAt).toISOString(),
    decided_at: approval.decidedAt === null ? null : new Date(approval.decidedAt).toISOString(),
  };
}
