/**
 * Every way a held call's approval ends, each one conditional transition in the store so that
 * exactly one party (the admin API, a waiting request, the sweeper, on any instance) makes it, and
 * that party alone releases the reservation when no money will move.
 */
import type { ApprovalRecord, ApprovalStatus, Store } from '@keyleash/core';

/** How long an approved call may wait for its client to come back and send it, after the approval's own deadline. */
export function claimWindowMs(approval: ApprovalRecord): number {
  return approval.expiresAt - approval.createdAt;
}

async function release(store: Store, approval: ApprovalRecord, reason: string, now: number): Promise<void> {
  await store.settle({
    reservationId: approval.reservationId,
    kind: 'released',
    actualMicros: 0,
    audit: {
      at: now,
      vaultKeyId: approval.keyId,
      rootKeyId: approval.keyChain[approval.keyChain.length - 1] ?? approval.keyId,
      metadata: approval.metadata,
      vendor: approval.vendor,
      method: approval.method,
      path: approval.path,
      status: 403,
      decision: 'refused',
      reason,
      reservedMicros: approval.amountMicros,
      settledMicros: 0,
      upstreamRequestId: null,
      idempotencyKey: approval.idempotencyKey,
      latencyMs: now - approval.createdAt,
      attribution: {},
    },
  });
}

/** `from` -> `to`, releasing the reservation when `to` means nothing is sent; undefined when someone else moved it first. */
async function end(store: Store, approval: ApprovalRecord, from: ApprovalStatus[], to: 'denied' | 'timed_out' | 'abandoned', now: number) {
  const moved = await store.approvals.transitionApproval(approval.id, from, to, now);
  // a `reserving` approval has no reservation yet (its request died before making one)
  if (moved?.reservationId) await release(store, moved, `approval_${to}_released`, now);
  return moved;
}

export type Decision = { ok: true; approval: ApprovalRecord } | { ok: false; status: 404 | 409; message: string; approval?: ApprovalRecord };

/** An admin's approve or deny. A pending approval past its deadline times out instead. */
export async function decideApproval(store: Store, id: string, verdict: 'approved' | 'denied', now: number): Promise<Decision> {
  const approval = await store.approvals.getApproval(id);
  if (!approval) return { ok: false, status: 404, message: `no approval ${id}` };
  if (approval.status === 'pending' && now >= approval.expiresAt) {
    await end(store, approval, ['pending'], 'timed_out', now);
    return { ok: false, status: 409, message: `approval ${id} timed out at ${new Date(approval.expiresAt).toISOString()}; the call was refused`, approval: (await store.approvals.getApproval(id))! };
  }
  const moved = verdict === 'denied' ? await end(store, approval, ['pending'], 'denied', now) : await store.approvals.transitionApproval(id, ['pending'], 'approved', now);
  if (moved) return { ok: true, approval: moved };
  const current = (await store.approvals.getApproval(id))!;
  return { ok: false, status: 409, message: `approval ${id} is already ${current.status}`, approval: current };
}

/** A pending (or still reserving) approval past its deadline: timed out (and released) by whoever notices first. */
export function timeOut(store: Store, approval: ApprovalRecord, now: number) {
  return end(store, approval, ['pending', 'reserving'], 'timed_out', now);
}

/** The sweeper's pass: time out pending approvals past their deadline, give up approved ones nobody came back to send. */
export async function sweepApprovals(store: Store, now: number): Promise<void> {
  for (const status of ['pending', 'reserving'] as const) {
    for (const approval of await store.approvals.listApprovals({ status, limit: 1000 })) {
      if (now >= approval.expiresAt) await timeOut(store, approval, now);
    }
  }
  for (const approval of await store.approvals.listApprovals({ status: 'approved', limit: 1000 })) {
    if (now >= approval.expiresAt + claimWindowMs(approval)) await end(store, approval, ['approved'], 'abandoned', now);
  }
}
