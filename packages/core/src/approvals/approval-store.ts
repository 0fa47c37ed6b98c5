/**
 * Held calls awaiting a human. An approval row outlives the HTTP request that created it: the
 * decision is durable, so a client whose connection dropped (or a proxy that restarted) finds it
 * again by the request's Idempotency-Key, and a call is never approved twice.
 */
import type { MicroUsd } from '../money.ts';

export type ApprovalStatus =
  /** the (key, Idempotency-Key) slot is claimed and the cost is being reserved: not yet listed or decidable */
  | 'reserving'
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
  /** sha256 of the held request (method, path, query, body): a retry must be the same call to act on its approval */
  fingerprint: string;
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
  /**
   * Claims the (key, Idempotency-Key) slot with a `reserving` approval, unless one exists; then
   * returns that one. Claiming before reserving is what stops two concurrent requests with the same
   * key from both getting past the gate.
   */
  createApproval(approval: NewApproval): Promise<{ created: boolean; approval: ApprovalRecord }>;
  /** `reserving` -> `pending` with the reservation made for it */
  setApprovalReservation(id: string, reservationId: string, amountMicros: MicroUsd): Promise<ApprovalRecord | undefined>;
  /** drops a `reserving` approval whose reservation was refused, so the slot is free again */
  discardApproval(id: string): Promise<void>;
  getApproval(id: string): Promise<ApprovalRecord | undefined>;
  findApproval(keyId: string, idempotencyKey: string): Promise<ApprovalRecord | undefined>;
  /** moves the approval from one of `from` to `to`; undefined when it was not in `from` (someone else moved it) */
  transitionApproval(id: string, from: readonly ApprovalStatus[], to: ApprovalStatus, now: number): Promise<ApprovalRecord | undefined>;
  /** newest first */
  listApprovals(filter?: { status?: ApprovalStatus; limit?: number }): Promise<ApprovalRecord[]>;
}
