/**
 * Stage 5, approval: a call above an approval threshold waits here for a human
 * (approvals/approval-gate.ts); a store failure fails closed. The request's crash-recovery facts
 * are fixed here, as they go with the reservation whether the gate or `admit` makes it.
 */
import type { Admission, RequestFacts as ReservedRequestFacts } from '@keyleash/core';
import type { ApprovalGate, HoldOutcome } from '../../approvals/approval-gate.ts';
import type { Authenticated } from './authenticate-key.ts';
import type { Scoped } from './check-scope.ts';
import type { PipelineDeps, RequestContext } from './context.ts';
import type { Judged } from './judge-cost.ts';
import type { Priced } from './price-call.ts';
import { refusedFor, type Stop } from './stop.ts';

export interface Held {
  idempotencyKey: string | undefined;
  /** the request's audit facts, kept with the reservation: a crash before settling still leaves its audit row to recover */
  reservedRequest: ReservedRequestFacts;
  /** the reservation an approved call is sent under; undefined when no approval was needed */
  approved: Extract<Admission, { ok: true }> | undefined;
}

export async function holdForApproval(context: RequestContext & Authenticated & Scoped & Priced & Judged): Promise<Held | Stop> {
  const { deps, vendor, inbound, res, now, facts, key, chain, shownPath, micros, movableMicros, object } = context;
  const idempotencyKey = facts.idempotencyKey;
  const reservedRequest = { vendor: vendor.name, method: inbound.method, path: facts.auditedPath, idempotencyKey: facts.auditedIdempotencyKey, attribution: facts.attribution, at: facts.startedAt };
  const held = await holdQuietly(deps, { chain, micros, movableMicros, object, request: reservedRequest, now, idempotencyKey, vendor: vendor.name, method: inbound.method, path: shownPath, raw: inbound, res });
  if (held === 'store_failed') return { stop: 'store_unavailable', error: new Error('approval store failed') };
  if (held?.kind === 'refused') return refusedFor(key, held.refusal);
  if (held?.kind === 'gone') return { stop: 'answered' };
  return { idempotencyKey, reservedRequest, approved: held?.kind === 'admitted' ? held.admission : undefined };
}

async function holdQuietly(deps: PipelineDeps, request: Parameters<ApprovalGate['hold']>[0]): Promise<HoldOutcome | 'store_failed'> {
  if (!deps.approvals) return undefined;
  try {
    return await deps.approvals.hold(request);
  } catch (error) {
    deps.logger.error({ err: error }, 'approval hold failed');
    return 'store_failed';
  }
}
