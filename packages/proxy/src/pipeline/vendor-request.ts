/**
 * The hot path, top to bottom: authenticate -> check scope -> price -> reserve -> forward ->
 * settle -> audit. Every refusal is answered in the vendor's own error shape and reaches no
 * upstream; every admitted request has a durable reservation before a byte goes upstream.
 */
import type { ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { anyPatternMatches, refusal, type AuditEntry, type Refusal, type Store, type VaultKeyRecord } from '@keyleash/core';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.ts';
import type { InboundRequest, Pricing, RevealedPrice, UpstreamAnswer, Vendor, VendorSecrets } from '../vendors/vendor.ts';
import type { SpendAlerts } from '../alerts/spend-crossings.ts';
import type { ApprovalGate, HoldOutcome } from '../approvals/approval-gate.ts';
import { isHopByHopResponseHeader } from '../vendors/forwardable-headers.ts';
import { checkCostRules, checkParameterRules } from '../rules/check-rules.ts';
import { describeAdmissionRefusal } from './admission-refusal.ts';
import { readAttribution } from './attribution.ts';
import { authenticate, freshlyActive, KeyNoLongerActive } from './authenticate.ts';
import type { CompiledPolicies } from './compiled-policy.ts';
import { relayMeteredStream } from './metered-stream.ts';
import { decideUnpriced } from './unpriced.ts';
import { verifiedKeys } from './verified-keys.ts';
import type { Upstreams } from './upstreams.ts';

export interface PipelineDeps {
  store: Store;
  upstreams: Upstreams;
  policies: CompiledPolicies;
  secrets: (vendor: Vendor) => VendorSecrets | undefined;
  metrics: Metrics;
  logger: Logger;
  clock: () => number;
  /** records threshold crossings right after each admission */
  spendAlerts?: SpendAlerts;
  /** holds calls above a policy's approval threshold for a human */
  approvals?: ApprovalGate;
}

/** What the request looked like, for the audit row whatever happens to it. */
interface RequestFacts {
  vendor: Vendor;
  inbound: InboundRequest;
  startedAt: number;
  startedHr: bigint;
  attribution: Record<string, string>;
}

function elapsedMs(facts: RequestFacts): number {
  return Math.round(Number(process.hrtime.bigint() - facts.startedHr) / 1e6);
}

function baseAudit(facts: RequestFacts, key: VaultKeyRecord | null, keyId: string | null): Omit<AuditEntry, 'status' | 'decision' | 'reason' | 'reservedMicros' | 'settledMicros'> {
  return {
    at: facts.startedAt,
    vaultKeyId: key?.id ?? keyId,
    rootKeyId: key?.rootId ?? null,
    metadata: key?.policy.metadata ?? {},
    vendor: facts.vendor.name,
    method: facts.inbound.method,
    // the raw path (no query string: it may carry customer data) truncated for the audit
    path: facts.inbound.rawPath.slice(0, 512),
    upstreamRequestId: null,
    idempotencyKey: facts.vendor.idempotencyKey(facts.inbound)?.slice(0, 255) ?? null,
    latencyMs: elapsedMs(facts),
    attribution: facts.attribution,
  };
}

async function refuse(deps: PipelineDeps, res: ServerResponse, facts: RequestFacts, refused: Refusal, key: VaultKeyRecord | null, keyId: string | null) {
  const rendered = facts.vendor.renderRefusal(refused);
  deps.metrics.requests.inc({ vendor: facts.vendor.name, decision: 'refused', code: refused.code });
  try {
    await deps.store.appendAudit({ ...baseAudit(facts, key, keyId), status: rendered.status, decision: 'refused', reason: refused.code, reservedMicros: 0, settledMicros: 0 });
  } catch (error) {
    deps.metrics.storeErrors.inc({ operation: 'audit' });
    deps.logger.error({ err: error, code: refused.code }, 'could not write the audit row of a refusal');
  }
  res.writeHead(rendered.status, rendered.headers);
  res.end(rendered.body);
}

export async function handleVendorRequest(deps: PipelineDeps, vendor: Vendor, inbound: InboundRequest, res: ServerResponse): Promise<void> {
  const now = deps.clock();
  const facts: RequestFacts = { vendor, inbound, startedAt: now, startedHr: process.hrtime.bigint(), attribution: readAttribution(inbound.headers) };

  // 1. authenticate: the key and every ancestor exist, match, and are neither revoked nor expired
  let auth;
  try {
    auth = await authenticate(vendor.presentedVaultKey(inbound.headers), deps.store, now);
  } catch (error) {
    return storeUnavailable(deps, res, facts, error);
  }
  if (!auth.ok) return refuse(deps, res, facts, auth.refusal, auth.key ?? null, auth.keyId);
  const chain = auth.chain;
  const key = chain[0]!;
  const policy = deps.policies.get(key);
  const allowed = policy.allowed.get(vendor.name);
  if (!allowed) {
    const covered = [...policy.allowed.keys()].join(' + ');
    return refuse(deps, res, facts, refusal('keyleash_vendor_mismatch', `Refused: vault key ${key.id} is a ${covered} key and cannot call ${vendor.name}. Use a key that covers ${vendor.name}.`), key, key.id);
  }

  // the vendor's real secrets: routing may need them (Twilio puts the real account SID in paths)
  const secrets = deps.secrets(vendor);
  if (!secrets) {
    return refuse(
      deps,
      res,
      facts,
      refusal('keyleash_upstream_not_configured', `Refused: this keyleash has no ${vendor.name} secret configured (${vendor.secretEnv.join(' / ')}). An operator must set it.`),
      key,
      key.id,
    );
  }

  // 2. scope: a safely normalised path inside the allowlist, vendor-specific header rules
  const route = vendor.route(inbound, secrets);
  if ('code' in route) return refuse(deps, res, facts, route, key, key.id);
  // the endpoint as the agent may see it (route.path may hold what the vendor module put in, e.g. a real account SID)
  const shownPath = `/${route.segments.join('/')}`;
  if (!anyPatternMatches(allowed, inbound.method, route.segments)) {
    return refuse(
      deps,
      res,
      facts,
      refusal(
        'keyleash_endpoint_not_allowed',
        `Refused: ${inbound.method} ${shownPath} is not in vault key ${key.id}'s allowed endpoints (${key.policy.allowedEndpoints.join(', ')}). Do not retry; this key cannot call it.`,
      ),
      key,
      key.id,
    );
  }
  const headerRefusal = vendor.checkHeaders?.(inbound, key);
  if (headerRefusal) return refuse(deps, res, facts, headerRefusal, key, key.id);
  const paramRefusal = checkParameterRules(chain, inbound, route.segments);
  if (paramRefusal) return refuse(deps, res, facts, paramRefusal, key, key.id);

  // 3. price: before anything is sent, and possibly by asking the vendor with the real secret
  let pricing: Pricing;
  // a key authenticated from the cache is re-read before keyleash calls the vendor for it
  let recheck = auth.cached;
  try {
    pricing = await vendor.price(inbound, route, {
      key,
      chain,
      store: deps.store,
      lookup: async (lookup) => {
        if (recheck) {
          const refused = await freshlyActive(deps.store, key.id, now);
          if (refused) throw new KeyNoLongerActive(refused);
          recheck = false;
        }
        const answer = await deps.upstreams.request(lookup.host, {
          method: 'GET',
          path: lookup.path,
          headers: { ...vendor.lookupHeaders(secrets), ...lookup.headers, accept: 'application/json' },
        });
        const text = await answer.body.text();
        let json: unknown = null;
        try {
          json = JSON.parse(text);
        } catch {
          json = null;
        }
        return { status: answer.statusCode, json };
      },
    });
  } catch (error) {
    if (error instanceof KeyNoLongerActive) return refuse(deps, res, facts, error.refusal, key, key.id);
    deps.logger.warn({ err: error, vendor: vendor.name, path: route.path }, 'pricing failed');
    return refuse(
      deps,
      res,
      facts,
      refusal('keyleash_upstream_unreachable', `Refused: keyleash could not price ${inbound.method} ${shownPath} because a lookup at ${vendor.name} failed. Nothing was sent; retry later.`),
      key,
      key.id,
    );
  }
  let micros = 0;
  switch (pricing.kind) {
    case 'refused':
      return refuse(deps, res, facts, pricing.refusal, key, key.id);
    case 'free':
      break;
    case 'priced':
      micros = pricing.micros;
      break;
    case 'unpriced': {
      const decision = decideUnpriced(chain, policy.unpriced, inbound.method, route.segments, pricing.label, pricing.policyPattern);
      if (!decision.ok) return refuse(deps, res, facts, decision.refusal, key, key.id);
      micros = decision.micros;
      break;
    }
  }

  // a step on an existing object: the store counts what it raises the object's ceiling by
  const object = pricing.kind === 'priced' ? pricing.object : undefined;
  // per-call rules and approval judge what the call can move: for a step on an object (a raised
  // amount, a confirm, a capture) that is the object's ceiling, whatever the tree counted before
  const movableMicros = micros + (object?.ceilingMicros ?? 0);
  const costRefusal = checkCostRules(chain, inbound.method, route.segments, movableMicros);
  if (costRefusal) return refuse(deps, res, facts, costRefusal, key, key.id);

  // 4. reserve: one atomic operation across the whole chain (revocation re-checked inside)
  const idempotencyKey = vendor.idempotencyKey(inbound);
  // the request's audit facts go with the reservation: a crash before settling still leaves its audit row to recover
  const { vendor: auditedVendor, method: auditedMethod, path: auditedPath, idempotencyKey: auditedIdempotencyKey, attribution, at } = baseAudit(facts, key, key.id);
  const reservedRequest = { vendor: auditedVendor, method: auditedMethod, path: auditedPath, idempotencyKey: auditedIdempotencyKey, attribution, at };
  const held = await holdForApproval(deps, { chain, micros, movableMicros, object, request: reservedRequest, now, idempotencyKey, vendor: vendor.name, method: inbound.method, path: shownPath, raw: inbound, res });
  if (held === 'store_failed') return storeUnavailable(deps, res, facts, new Error('approval store failed'));
  if (held?.kind === 'refused') return refuse(deps, res, facts, held.refusal, key, key.id);
  if (held?.kind === 'gone') return;
  let admission;
  const reserveStarted = process.hrtime.bigint();
  try {
    admission = held?.kind === 'admitted' ? held.admission : await deps.store.admit({ keyChain: chain.map((link) => link.id), amountMicros: micros, now, idempotencyKey, object, request: reservedRequest });
  } catch (error) {
    return storeUnavailable(deps, res, facts, error);
  } finally {
    deps.metrics.reservationSeconds.observe(Number(process.hrtime.bigint() - reserveStarted) / 1e9);
  }
  if (!admission.ok) {
    // the cached chain was stale: the next request reads it fresh (and is refused at authentication)
    if (admission.refusal.kind === 'revoked' || admission.refusal.kind === 'expired' || admission.refusal.kind === 'unknown_key') verifiedKeys(deps.store).forget([key.id]);
    return refuse(deps, res, facts, describeAdmissionRefusal(admission.refusal, key.id, object && pricing.kind === 'priced' ? pricing.label : undefined), key, key.id);
  }
  await deps.spendAlerts?.afterAdmission(chain, now);

  // 5. forward: the real secret in place of the vault key; nothing of keyleash's goes upstream
  // A replay's answer is read too: the object it names may have been created by this very request
  // (a retry after a 5xx that saved nothing upstream), and must be remembered as paid for.
  const settleFromBody = pricing.kind === 'priced' && pricing.settle !== undefined;
  // a free read whose answer may reveal the real price of an object paid for earlier
  const revealsPrice = pricing.kind === 'free' ? pricing.revealsPrice : undefined;
  const headers = vendor.upstreamHeaders(inbound, secrets);
  // the settlement, the price reveal and the vendor's rewrite read the answer, so ask for it uncompressed
  if (settleFromBody || revealsPrice || vendor.rewriteResponseBody) delete headers['accept-encoding'];
  const query = inbound.rawQuery ? `?${inbound.rawQuery}` : '';
  const upstreamStarted = process.hrtime.bigint();
  let upstream;
  try {
    const body = pricing.kind === 'priced' && pricing.upstreamBody ? pricing.upstreamBody : inbound.body;
    upstream = await deps.upstreams.request(route.upstreamHost, { method: inbound.method, path: route.path + query, headers, body });
  } catch (error) {
    // the request may have reached the vendor: keep the reservation counted
    deps.logger.warn({ err: error, vendor: vendor.name, host: route.upstreamHost }, 'upstream request failed');
    const refused = refusal(
      'keyleash_upstream_unreachable',
      `keyleash could not get an answer from ${route.upstreamHost} for ${inbound.method} ${shownPath}. The request may have reached ${vendor.name}, so its cost stays counted. Check before retrying.`,
    );
    const rendered = vendor.renderRefusal(refused);
    await settleQuietly(deps, {
      reservationId: admission.reservationId,
      kind: 'kept',
      actualMicros: admission.reservedMicros,
      audit: { ...baseAudit(facts, key, key.id), status: rendered.status, decision: 'allowed', reason: 'upstream_unreachable_kept', reservedMicros: admission.reservedMicros, settledMicros: admission.reservedMicros },
    });
    deps.metrics.requests.inc({ vendor: vendor.name, decision: 'allowed', code: 'upstream_unreachable' });
    res.writeHead(rendered.status === 503 ? 502 : rendered.status, rendered.headers);
    res.end(rendered.body);
    return;
  }
  deps.metrics.upstreamSeconds.observe({ vendor: vendor.name }, Number(process.hrtime.bigint() - upstreamStarted) / 1e9);

  const status = upstream.statusCode;
  const responseHeaders: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(upstream.headers)) {
    if (value !== undefined && !isHopByHopResponseHeader(name)) responseHeaders[name] = value;
  }
  const upstreamRequestId = vendor.upstreamRequestId(upstream.headers) ?? null;

  // 6. settle: 2xx -> the answer's amount; 4xx -> released (no money moved); 5xx -> kept
  const kind = status < 300 ? 'settled' : status < 500 ? 'released' : 'kept';
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
  const audit: AuditEntry = {
    ...baseAudit(facts, key, key.id),
    upstreamRequestId,
    status,
    decision: 'allowed',
    reason: admission.idempotentReplay ? 'idempotent_replay' : kind === 'kept' ? 'upstream_5xx_kept' : null,
    reservedMicros: admission.reservedMicros,
    settledMicros,
  };
  deps.metrics.requests.inc({ vendor: vendor.name, decision: 'allowed', code: String(status) });
  if (meter) {
    res.writeHead(status, responseHeaders);
    const relayed = await relayMeteredStream(upstream.body, res, meter);
    if (relayed.upstreamError) deps.logger.warn({ err: relayed.upstreamError, vendor: vendor.name }, 'the streamed answer broke off upstream; its reservation stays counted');
    // the stream's own usage when it carried one; otherwise (broken off, no usage) the worst case stays counted
    const metered = relayed.upstreamError ? undefined : meter.cost();
    const streamedMicros = metered?.micros ?? admission.reservedMicros;
    await settleQuietly(deps, {
      reservationId: admission.reservationId,
      kind: metered ? 'settled' : 'kept',
      actualMicros: streamedMicros,
      audit: { ...audit, reason: metered ? audit.reason : 'stream_usage_missing_kept', settledMicros: streamedMicros, latencyMs: elapsedMs(facts) },
    });
    deps.metrics.spendMicros.inc({ vendor: vendor.name }, streamedMicros);
    res.end();
    return;
  }
  deps.metrics.spendMicros.inc({ vendor: vendor.name }, settledMicros);

  if (body) {
    await settleQuietly(deps, { reservationId: admission.reservationId, kind, actualMicros: settledMicros, ...(paidObjectIds ? { paidObjectIds, paidObjectMicros } : {}), audit: { ...audit, latencyMs: elapsedMs(facts) } });
    if (revealed) await repriceQuietly(deps, key, revealed, { ...audit, reason: 'price_revealed', latencyMs: elapsedMs(facts) });
    // a HEAD answer has no body but keeps the length the GET would have
    if (inbound.method !== 'HEAD') responseHeaders['content-length'] = String(body.length);
    res.writeHead(status, responseHeaders);
    res.end(body);
    return;
  }
  res.writeHead(status, responseHeaders);
  try {
    // with backpressure; the answer is ended only after its audit row is written, so a client that
    // reads the audit right after a call always finds it
    await pipeline(upstream.body, res, { end: false });
  } catch (error) {
    deps.logger.warn({ err: error, vendor: vendor.name }, 'the answer could not be streamed to the client in full');
  }
  await settleQuietly(deps, { reservationId: admission.reservationId, kind, actualMicros: settledMicros, audit: { ...audit, latencyMs: elapsedMs(facts) } });
  res.end();
}

/** A call above an approval threshold waits here for a human (approvals/approval-gate.ts); a store failure fails closed. */
async function holdForApproval(deps: PipelineDeps, request: Parameters<ApprovalGate['hold']>[0]): Promise<HoldOutcome | 'store_failed'> {
  if (!deps.approvals) return undefined;
  try {
    return await deps.approvals.hold(request);
  } catch (error) {
    deps.logger.error({ err: error }, 'approval hold failed');
    return 'store_failed';
  }
}

/** A server-sent-event answer whose bytes are neither compressed (keyleash asked for none) nor otherwise encoded. */
function isEventStream(headers: Record<string, string | string[]>): boolean {
  const type = String(headers['content-type'] ?? '').toLowerCase();
  const encoding = String(headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  return type.startsWith('text/event-stream') && (encoding === '' || encoding === 'identity');
}

/**
 * An answer revealed what an object paid for earlier in this key tree really cost: the count
 * follows the vendor's figure. A failure here leaves the earlier estimate counted; the request
 * itself has already been answered correctly, so it is logged, not refused.
 */
async function repriceQuietly(deps: PipelineDeps, key: VaultKeyRecord, revealed: RevealedPrice, audit: AuditEntry): Promise<void> {
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

/**
 * The answer's bytes as text the vendor module can read: keyleash asked for no compression, but an
 * upstream may compress anyway (gzip, deflate, br); then it is decoded and the header dropped.
 */
function decodedBody(body: Buffer, headers: Record<string, string | string[]>): Buffer {
  const encoding = String(headers['content-encoding'] ?? '').trim().toLowerCase();
  if (encoding === '' || encoding === 'identity') return body;
  const decode = encoding === 'gzip' || encoding === 'x-gzip' ? gunzipSync : encoding === 'deflate' ? inflateSync : encoding === 'br' ? brotliDecompressSync : undefined;
  if (!decode) return body;
  delete headers['content-encoding'];
  return decode(body);
}

/**
 * The reservation was written before forwarding, so if this write fails the money stays
 * counted (held) and the request is still visible as a held reservation; we log loudly.
 */
async function settleQuietly(deps: PipelineDeps, settlement: Parameters<Store['settle']>[0]): Promise<void> {
  try {
    await deps.store.settle(settlement);
  } catch (error) {
    deps.metrics.storeErrors.inc({ operation: 'settle' });
    deps.logger.error({ err: error, reservation: settlement.reservationId }, 'settlement or audit write failed; the reservation stays held');
  }
}

async function storeUnavailable(deps: PipelineDeps, res: ServerResponse, facts: RequestFacts, error: unknown) {
  deps.metrics.storeErrors.inc({ operation: 'admit' });
  deps.logger.error({ err: error }, 'store unavailable; refusing (fail closed)');
  const rendered = facts.vendor.renderRefusal(
    refusal('keyleash_store_unavailable', 'Refused: keyleash cannot reach its ledger, so it cannot check or reserve spend. Nothing was sent. Retry later.'),
  );
  deps.metrics.requests.inc({ vendor: facts.vendor.name, decision: 'refused', code: 'keyleash_store_unavailable' });
  res.writeHead(rendered.status, rendered.headers);
  res.end(rendered.body);
}

