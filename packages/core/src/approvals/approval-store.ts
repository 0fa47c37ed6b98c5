/**
 * Held calls awaiting a human. An approval row outlives the HTTP request that created it: the
 * decision is durable, so a client whose connection dropped (or a proxy that restarted) finds it
 * again by the request's Idempotency-Key, and a call is never approved twice.
 */
import type { MicroUsd } from '../money.ts';

export type ApprovalStatus =
  /** waiting for a decision; its cost is reserved */
  | 'pending'
  /** approved, not yet sent: the next request with its Idempotency-Key (or the waiting one) sends it */
  | 'approved'
  /** approved and sent upstream */
  | 'forwarded'
  | 'denied'
  | 'timed_out'
  /** approved, but no client came back to send it in time; the reservation was released */
  | 'abandoned';

export interface NewApproval {
  id: string;
  keyId: string;
  /** the presenting key first, up to the root */
  keyChain: string[];
  idempotencyKey: string | null;
  reservationId: string;
  amountMicros: MicroUsd;
  vendor: string;
  method: string;
  path: string;
  metadata: Record<string, string>;
  createdAt: number;
  expiresAt: number;
}

export interface ApprovalRecord extends NewApproval {
  status: ApprovalStatus;
  decidedAt: number | null;
}

export interface ApprovalStore {
  /** records the approval unless one exists for the same key and Idempotency-Key; then returns that one */
  createApproval(approval: NewApproval): Promise<{ created: boolean; approval: ApprovalRecord }>;
  getApproval(id: string): Promise<ApprovalRecord | undefined>;
  findApproval(keyId: string, idempotencyKey: string): Promise<ApprovalRecord | undefined>;
  /** moves the approval from one of `from` to `to`; undefined when it was not in `from` (someone else moved it) */
  transitionApproval(id: string, from: readonly ApprovalStatus[], to: ApprovalStatus, now: number): Promise<ApprovalRecord | undefined>;
  /** newest first */
  listApprovals(filter?: { status?: ApprovalStatus; limit?: number }): Promise<ApprovalRecord[]>;
}
