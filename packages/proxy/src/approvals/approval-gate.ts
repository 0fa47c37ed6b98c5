/**
 * Holding a priced call for a human. Its cost is reserved first (so concurrent calls cannot spend
 * it), then an approval is recorded and the request waits for the decision, polling the store so a
 * decision taken on any instance is seen. The approval is found again by the request's
 * Idempotency-Key: a retry after a dropped connection or a restart waits on (or acts on) the same
 * approval and never opens a second one; an approved call is sent by exactly one request.
 */
import type { ServerResponse } from 'node:http';
import { createHash, randomUUID } from 'node:crypto';
import { formatUsd, refusal, type Admission, type ApprovalRecord, type ApprovalSettings, type MicroUsd, type ObjectStep, type Refusal, type RequestFacts, type Store, type VaultKeyRecord } from '@keyleash/core';
import type { Logger } from 'pino';
import { describeAdmissionRefusal } from '../pipeline/admission-refusal.ts';
import { timeOut } from './approval-decisions.ts';

export type HoldOutcome =
  /** approved: send it under this reservation */
  | { kind: 'admitted'; admission: Extract<Admission, { ok: true }> }
  | { kind: 'refused'; refusal: Refusal }
  /** the client went away while waiting; nothing to answer */
  | { kind: 'gone' }
  /** no approval needed, or the approved call was already sent: the ordinary path (an idempotent replay) */
  | undefined;

export interface HoldRequest {
  chain: readonly VaultKeyRecord[];
  /** what the call reserves by itself (0 for a step on an object, which the store prices) */
  micros: MicroUsd;
  /** what the call can move: `micros`, plus the object's ceiling for a step on an object */
  movableMicros: MicroUsd;
  /** a step on an existing object, reserved with the call (see `AdmitRequest.object`) */
  object?: ObjectStep | undefined;
  /** the request's audit facts, kept with the reservation for crash recovery (see `AdmitRequest.request`) */
  request?: RequestFacts | undefined;
  now: number;
  idempotencyKey: string | undefined;
  vendor: string;
  method: string;
  /** the endpoint as the agent sees it */
  path: string;
  /** the request as received, to tell a true retry from another call under the same Idempotency-Key */
  raw: { rawPath: string; rawQuery: string; body: Buffer };
  res: ServerResponse;
}

function fingerprintOf(request: HoldRequest): string {
  return createHash('sha256').update(`${request.method} ${request.raw.rawPath}?${request.raw.rawQuery}\n`).update(request.raw.body).digest('hex');
}

function notTheHeldCall(approval: ApprovalRecord): Refusal {
  return refusal(
    'keyleash_ambiguous_request',
    `Refused: this Idempotency-Key belongs to a different call held for approval (${approval.id}: ${approval.method} ${approval.path}, ${formatUsd(approval.amountMicros)}). Nothing was sent. Retry that exact call, or use a new Idempotency-Key.`,
    { approval_id: approval.id },
  );
}

/** The strictest approval any key in the chain asks of a call this dear, if any. */
function demandedBy(chain: readonly VaultKeyRecord[], micros: MicroUsd): ApprovalSettings | undefined {
  const demanding = chain.map((key) => key.policy.approval).filter((a): a is ApprovalSettings => a !== undefined && micros > a.aboveMicros);
  if (demanding.length === 0) return undefined;
  return { aboveMicros: Math.min(...demanding.map((a) => a.aboveMicros)), timeoutMs: Math.min(...demanding.map((a) => a.timeoutMs)) };
}

export class ApprovalGate {
  constructor(
    private readonly store: Store,
    private readonly clock: () => number,
    private readonly logger: Logger,
    /** a new approval is waiting: tell the alerts webhook */
    private readonly onPending: (key: VaultKeyRecord, approval: ApprovalRecord) => Promise<void>,
    private readonly pollMs = 200,
  ) {}

  async hold(request: HoldRequest): Promise<HoldOutcome> {
    const settings = demandedBy(request.chain, request.movableMicros);
    if (!settings) return undefined;
    const key = request.chain[0]!;
    const fingerprint = fingerprintOf(request);
    if (request.idempotencyKey) {
      const existing = await this.store.approvals.findApproval(key.id, request.idempotencyKey);
      // an approval covers the call it held, byte for byte, never another one sent under its key
      if (existing && existing.fingerprint !== fingerprint) return { kind: 'refused', refusal: notTheHeldCall(existing) };
      if (existing) return this.wait(existing, request.res);
    }
    // claim the (key, Idempotency-Key) slot before reserving, so a concurrent twin waits on this approval
    const { created, approval: claimed } = await this.store.approvals.createApproval({
      id: `apr_${randomUUID().replaceAll('-', '')}`,
      keyId: key.id,
      keyChain: request.chain.map((k) => k.id),
      idempotencyKey: request.idempotencyKey ?? null,
      fingerprint,
      reservationId: '',
      amountMicros: request.movableMicros,
      vendor: request.vendor,
      method: request.method,
      path: request.path,
      metadata: key.policy.metadata,
      createdAt: request.now,
      expiresAt: request.now + settings.timeoutMs,
    });
    if (!created) return claimed.fingerprint === fingerprint ? this.wait(claimed, request.res) : { kind: 'refused', refusal: notTheHeldCall(claimed) };
    let admission;
    try {
      admission = await this.store.admit({ keyChain: request.chain.map((k) => k.id), amountMicros: request.micros, now: request.now, idempotencyKey: request.idempotencyKey, object: request.object, request: request.request });
    } catch (error) {
      await this.store.approvals.discardApproval(claimed.id).catch(() => undefined);
      throw error;
    }
    if (!admission.ok || admission.idempotentReplay) await this.store.approvals.discardApproval(claimed.id);
    if (!admission.ok) return { kind: 'refused', refusal: describeAdmissionRefusal(admission.refusal, key.id) };
    // a repeat of a call that went through before without being held: counted once, sent as the vendor's replay
    if (admission.idempotentReplay) return { kind: 'admitted', admission };
    const approval = await this.store.approvals.setApprovalReservation(claimed.id, admission.reservationId, admission.reservedMicros);
    if (!approval) throw new Error(`approval ${claimed.id} changed while its cost was reserved`);
    this.logger.info({ approval: approval.id, key: key.id, usd: formatUsd(approval.amountMicros) }, 'call held for approval');
    await this.onPending(key, approval).catch((error: unknown) => this.logger.error({ err: error, approval: approval.id }, 'the approval notice could not be recorded'));
    return this.wait(approval, request.res);
  }

  private async wait(first: ApprovalRecord, res: ServerResponse): Promise<HoldOutcome> {
    let gone = false;
    const onClose = () => (gone = !res.writableFinished);
    res.once('close', onClose);
    try {
      let approval: ApprovalRecord | undefined = first;
      for (;;) {
        if (!approval) throw new Error(`approval ${first.id} disappeared`);
        switch (approval.status) {
          case 'reserving':
          case 'pending': {
            const now = this.clock();
            if (now >= approval.expiresAt) {
              await timeOut(this.store, approval, now);
              break;
            }
            if (gone) return { kind: 'gone' };
            await new Promise((resolve) => setTimeout(resolve, Math.min(this.pollMs, approval!.expiresAt - now)));
            break;
          }
          case 'approved': {
            // a client that hung up gets nothing sent on its behalf: its retry (same Idempotency-Key) sends it
            if (gone) return { kind: 'gone' };
            const claimed = await this.store.approvals.transitionApproval(approval.id, ['approved'], 'forwarded', this.clock());
            if (!claimed) break;
            return { kind: 'admitted', admission: { ok: true, reservationId: claimed.reservationId, reservedMicros: claimed.amountMicros, idempotentReplay: false } };
          }
          case 'forwarded':
            return undefined;
          case 'denied':
            return { kind: 'refused', refusal: refusal('keyleash_approval_denied', `Refused: this ${formatUsd(approval.amountMicros)} call (${approval.method} ${approval.path}) was held for approval (${approval.id}) and a human denied it. Nothing was sent. Do not retry.`, { approval_id: approval.id }) };
          case 'timed_out':
          case 'abandoned':
            return {
              kind: 'refused',
              refusal: refusal(
                'keyleash_approval_timeout',
                `Refused: this ${formatUsd(approval.amountMicros)} call (${approval.method} ${approval.path}) was held for approval (${approval.id}) and nobody approved it by ${new Date(approval.expiresAt).toISOString()}. Nothing was sent; its reservation was released. Ask a human to approve it before retrying.`,
                { approval_id: approval.id },
              ),
            };
        }
        approval = await this.store.approvals.getApproval(first.id);
      }
    } finally {
      res.off('close', onClose);
    }
  }
}
