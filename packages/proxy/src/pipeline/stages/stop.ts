/**
 * How a stage ends the request early, and the one place such an end is answered: a refusal in
 * the vendor's own error shape with its audit row, or a fail-closed answer when the store is down.
 */
import { refusal, type Refusal, type VaultKeyRecord } from '@keyleash/core';
import type { RequestContext } from './context.ts';
import { auditEntry } from './request-facts.ts';

export type Stop =
  /** refused before anything went upstream; `key` is set when the presented key is genuine */
  | { stop: 'refused'; refusal: Refusal; key: VaultKeyRecord | null; keyId: string | null }
  /** the store failed: fail closed */
  | { stop: 'store_unavailable'; error: unknown }
  /** the stage already answered the client (or the client went away) */
  | { stop: 'answered' };

export function refusedFor(key: VaultKeyRecord, refused: Refusal): Stop {
  return { stop: 'refused', refusal: refused, key, keyId: key.id };
}

export function isStop(outcome: object): outcome is Stop {
  return 'stop' in outcome;
}

/** The context with what a stage added, or the stage's stop. */
export function extend<Context extends object, Added extends object>(context: Context, added: Added | Stop): (Context & Added) | Stop {
  return isStop(added) ? added : Object.assign(context, added);
}

export async function answerStop(context: RequestContext, stopped: Stop): Promise<void> {
  if (stopped.stop === 'refused') return refuse(context, stopped.refusal, stopped.key, stopped.keyId);
  if (stopped.stop === 'store_unavailable') return storeUnavailable(context, stopped.error);
}

async function refuse({ deps, res, facts }: RequestContext, refused: Refusal, key: VaultKeyRecord | null, keyId: string | null): Promise<void> {
  const rendered = facts.vendor.renderRefusal(refused);
  deps.metrics.requests.inc({ vendor: facts.vendor.name, decision: 'refused', code: refused.code });
  try {
    await deps.store.appendAudit(auditEntry(facts, key, keyId, { status: rendered.status, decision: 'refused', reason: refused.code, reservedMicros: 0, settledMicros: 0 }));
  } catch (error) {
    deps.metrics.storeErrors.inc({ operation: 'audit' });
    deps.logger.error({ err: error, code: refused.code }, 'could not write the audit row of a refusal');
  }
  res.writeHead(rendered.status, rendered.headers);
  res.end(rendered.body);
}

function storeUnavailable({ deps, res, facts }: RequestContext, error: unknown): void {
  deps.metrics.storeErrors.inc({ operation: 'admit' });
  deps.logger.error({ err: error }, 'store unavailable; refusing (fail closed)');
  const rendered = facts.vendor.renderRefusal(
    refusal('keyleash_store_unavailable', 'Refused: keyleash cannot reach its ledger, so it cannot check or reserve spend. Nothing was sent. Retry later.'),
  );
  deps.metrics.requests.inc({ vendor: facts.vendor.name, decision: 'refused', code: 'keyleash_store_unavailable' });
  res.writeHead(rendered.status, rendered.headers);
  res.end(rendered.body);
}
