/**
 * Stage 8, settle: 2xx -> the answer's amount; 4xx -> released (no money moved); 5xx -> kept. The
 * answer reaches the client one of three ways: a streamed model answer metered as it passes, a
 * body read whole (to settle from, reveal a price, or rewrite), or piped through untouched. Each
 * is ended only after its audit row is written, or, on a store whose reads commit queued
 * settlements first (SQLite), as soon as the settlement is queued: either way a client that reads
 * the audit right after a call always finds it.
 */
import { pipeline } from 'node:stream/promises';
import type { AuditEntry, Settlement, SettlementKind } from '@keyleash/core';
import type { RevealedPrice, StreamMeter, UpstreamAnswer } from '../../vendors/vendor.ts';
import { relayMeteredStream } from '../metered-stream.ts';
import type { Admitted } from './admit.ts';
import { decodedBody, isEventStream } from './answer-body.ts';
import type { Authenticated } from './authenticate-key.ts';
import type { RequestContext } from './context.ts';
import type { Forwarded } from './forward.ts';
import type { Priced } from './price-call.ts';
import { repriceQuietly, settleAndAnswer, settleQuietly } from './quiet-writes.ts';
import { auditEntry, elapsedMs } from './request-facts.ts';

type Settling = RequestContext & Authenticated & Priced & Admitted & Forwarded;

export async function settle(context: Settling): Promise<void> {
  const { deps, vendor, inbound, res, facts, key, secrets, pricing, admission, upstream, responseHeaders, upstreamRequestId, settleFromBody, revealsPrice } = context;
  const status = upstream.statusCode;
  const kind: SettlementKind = status < 300 ? 'settled' : status < 500 ? 'released' : 'kept';
  let body: Buffer | undefined;
  let settledMicros = kind === 'released' ? 0 : admission.reservedMicros;
  let paidObjectIds: string[] | undefined;
  let paidObjectMicros: number | undefined;
  let revealed: RevealedPrice | undefined;
  // a streamed model answer is settled from the usage it carries, as it passes through
  const meter = pricing.kind === 'priced' && kind === 'settled' && isEventStream(responseHeaders) ? pricing.meterStream?.() : undefined;
  const settles = settleFromBody && kind === 'settled' && !meter;
  const reveals = revealsPrice !== undefined && status < 300;
  if (settles || reveals || vendor.rewriteResponseBody) {
    body = decodedBody(Buffer.from(await upstream.body.arrayBuffer()), responseHeaders);
    if (settles || reveals) {
      let json: unknown = null;
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch {
        json = null;
      }
      const answer: UpstreamAnswer = { status, headers: upstream.headers, json };
      if (settles && pricing.kind === 'priced' && pricing.settle) {
        const settled = pricing.settle(answer);
        // a replay was counted by its first use; it keeps only what it reserved (a larger amount's difference)
        settledMicros = admission.idempotentReplay ? admission.reservedMicros : settled.micros;
        paidObjectIds = settled.paidObjectIds;
        // the object a replay names was counted by its first use, at the answer's amount
        if (admission.idempotentReplay) paidObjectMicros = settled.micros;
      }
      if (reveals) revealed = revealsPrice(answer);
    }
    if (vendor.rewriteResponseBody) body = vendor.rewriteResponseBody(body, upstream.headers, secrets);
  }
  const audit = auditEntry(facts, key, key.id, {
    upstreamRequestId,
    status,
    decision: 'allowed',
    reason: admission.idempotentReplay ? 'idempotent_replay' : kind === 'kept' ? 'upstream_5xx_kept' : null,
    reservedMicros: admission.reservedMicros,
    settledMicros,
  });
  deps.metrics.requests.inc({ vendor: vendor.name, decision: 'allowed', code: String(status) });
  if (meter) return relayMetered(context, meter, audit);
  deps.metrics.spendMicros.inc({ vendor: vendor.name }, settledMicros);

  if (body) {
    const answerBody = body;
    audit.latencyMs = elapsedMs(facts);
    const settlement: Settlement = { reservationId: admission.reservationId, kind, actualMicros: settledMicros, paidObjectIds, paidObjectMicros, audit };
    // a HEAD answer has no body but keeps the length the GET would have
    if (inbound.method !== 'HEAD') responseHeaders['content-length'] = String(answerBody.length);
    const answer = () => {
      res.writeHead(status, responseHeaders);
      res.end(answerBody);
    };
    if (!revealed) return settleAndAnswer(deps, settlement, answer);
    // the correction follows the settlement it corrects, and is written before the answer goes out
    await settleQuietly(deps, settlement);
    await repriceQuietly(deps, key, revealed, { ...audit, reason: 'price_revealed', latencyMs: elapsedMs(facts) });
    answer();
    return;
  }
  res.writeHead(status, responseHeaders);
  try {
    // with backpressure; the latency audited includes it
    await pipeline(upstream.body, res, { end: false });
  } catch (error) {
    deps.logger.warn({ err: error, vendor: vendor.name }, 'the answer could not be streamed to the client in full');
  }
  // ended only after the audit row is written, unless the store lets the answer go first
  audit.latencyMs = elapsedMs(facts);
  await settleAndAnswer(deps, { reservationId: admission.reservationId, kind, actualMicros: settledMicros, audit }, () => res.end());
}

/** A streamed model answer, settled from the usage it carries; without one the worst case stays counted. */
async function relayMetered({ deps, vendor, res, facts, admission, upstream, responseHeaders }: Settling, meter: StreamMeter, audit: AuditEntry): Promise<void> {
  res.writeHead(upstream.statusCode, responseHeaders);
  const relayed = await relayMeteredStream(upstream.body, res, meter);
  if (relayed.upstreamError) deps.logger.warn({ err: relayed.upstreamError, vendor: vendor.name }, 'the streamed answer broke off upstream; its reservation stays counted');
  // the stream's own usage when it carried one; otherwise (broken off, no usage) the worst case stays counted
  const metered = relayed.upstreamError ? undefined : meter.cost();
  const streamedMicros = metered?.micros ?? admission.reservedMicros;
  deps.metrics.spendMicros.inc({ vendor: vendor.name }, streamedMicros);
  await settleAndAnswer(
    deps,
    {
      reservationId: admission.reservationId,
      kind: metered ? 'settled' : 'kept',
      actualMicros: streamedMicros,
      audit: { ...audit, reason: metered ? audit.reason : 'stream_usage_missing_kept', settledMicros: streamedMicros, latencyMs: elapsedMs(facts) },
    },
    () => res.end(),
  );
}
