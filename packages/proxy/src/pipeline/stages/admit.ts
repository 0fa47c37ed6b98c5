/**
 * Stage 6, admit: one atomic reservation across the whole chain (revocation re-checked inside),
 * unless the approval gate already made it; then the spend alerts see the new total.
 */
import type { Admission } from '@keyleash/core';
import { describeAdmissionRefusal } from '../admission-refusal.ts';
import { verifiedKeys } from '../verified-keys.ts';
import type { Authenticated } from './authenticate-key.ts';
import type { RequestContext } from './context.ts';
import type { Held } from './hold-for-approval.ts';
import type { Judged } from './judge-cost.ts';
import type { Priced } from './price-call.ts';
import { refusedFor, type Stop } from './stop.ts';

export interface Admitted {
  admission: Extract<Admission, { ok: true }>;
}

export async function admit(context: RequestContext & Authenticated & Priced & Judged & Held): Promise<Admitted | Stop> {
  const { deps, now, key, chain, pricing, micros, object, idempotencyKey, reservedRequest, approved } = context;
  let admission;
  const reserveStarted = process.hrtime.bigint();
  try {
    admission = approved ?? (await deps.store.admit({ keyChain: chain.map((link) => link.id), amountMicros: micros, now, idempotencyKey, object, request: reservedRequest }));
  } catch (error) {
    return { stop: 'store_unavailable', error };
  } finally {
    deps.metrics.reservationSeconds.observe(Number(process.hrtime.bigint() - reserveStarted) / 1e9);
  }
  if (!admission.ok) {
    // the cached chain was stale: the next request reads it fresh (and is refused at authentication)
    if (admission.refusal.kind === 'revoked' || admission.refusal.kind === 'expired' || admission.refusal.kind === 'unknown_key') verifiedKeys(deps.store).forget([key.id]);
    return refusedFor(key, describeAdmissionRefusal(admission.refusal, key.id, object && pricing.kind === 'priced' ? pricing.label : undefined));
  }
  await deps.spendAlerts?.afterAdmission(chain, now);
  return { admission };
}
