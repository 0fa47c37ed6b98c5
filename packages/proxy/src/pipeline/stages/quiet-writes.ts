/**
 * The store writes after an answer went upstream. They cannot refuse anything any more, so a
 * failure is logged loudly and counted, never thrown.
 */
import type { AuditEntry, Store, VaultKeyRecord } from '@keyleash/core';
import type { RevealedPrice } from '../../vendors/vendor.ts';
import type { PipelineDeps } from './context.ts';

/**
 * The reservation was written before forwarding, so if this write fails the money stays
 * counted (held) and the request is still visible as a held reservation; we log loudly.
 */
export async function settleQuietly(deps: PipelineDeps, settlement: Parameters<Store['settle']>[0]): Promise<void> {
  try {
    await deps.store.settle(settlement);
  } catch (error) {
    deps.metrics.storeErrors.inc({ operation: 'settle' });
    deps.logger.error({ err: error, reservation: settlement.reservationId }, 'settlement or audit write failed; the reservation stays held');
  }
}

/**
 * Settles the reservation and answers the client, in the order the store allows. A store whose
 * own reads commit queued settlements first (`Store.answersBeforeSettle`) lets the answer go out
 * at once, and the settlement rides with the next request's admission; otherwise the answer
 * waits for the settlement, so a reader on any instance finds the audit row once it has the answer.
 */
export async function settleAndAnswer(deps: PipelineDeps, settlement: Parameters<Store['settle']>[0], answer: () => unknown): Promise<void> {
  if (!deps.store.answersBeforeSettle) {
    await settleQuietly(deps, settlement);
    await answer();
    return;
  }
  const settled = settleQuietly(deps, settlement);
  await answer();
  await settled;
}

/**
 * An answer revealed what an object paid for earlier in this key tree really cost: the count
 * follows the vendor's figure. A failure here leaves the earlier estimate counted; the request
 * itself has already been answered correctly, so it is logged, not refused.
 */
export async function repriceQuietly(deps: PipelineDeps, key: VaultKeyRecord, revealed: RevealedPrice, audit: AuditEntry): Promise<void> {
  try {
    const result = await deps.store.reprice({ rootId: key.rootId, objectId: revealed.objectId, actualMicros: revealed.micros, audit });
    if (result.kind === 'repriced') {
      deps.logger.info({ object: revealed.objectId, previous_micros: result.previousMicros, actual_micros: result.actualMicros }, 'the vendor revealed the real price; the count was corrected');
    }
  } catch (error) {
    deps.metrics.storeErrors.inc({ operation: 'reprice' });
    deps.logger.error({ err: error, object: revealed.objectId }, 'the revealed price could not be recorded; the estimate stays counted');
  }
}
