/**
 * Stage 7, forward: the real secret in place of the vault key; nothing of keyleash's goes
 * upstream. When no answer comes back, the request may have reached the vendor, so its
 * reservation stays counted and the client is told to check before retrying.
 */
import { refusal } from '@keyleash/core';
import type { Dispatcher } from 'undici';
import type { UpstreamAnswer, RevealedPrice } from '../../vendors/vendor.ts';
import { isHopByHopResponseHeader } from '../../vendors/forwardable-headers.ts';
import type { Admitted } from './admit.ts';
import type { Authenticated } from './authenticate-key.ts';
import type { Scoped } from './check-scope.ts';
import type { RequestContext } from './context.ts';
import type { Priced } from './price-call.ts';
import { settleAndAnswer } from './quiet-writes.ts';
import { auditEntry } from './request-facts.ts';
import type { Stop } from './stop.ts';

export interface Forwarded {
  upstream: Dispatcher.ResponseData;
  /** the upstream's headers less the hop-by-hop ones */
  responseHeaders: Record<string, string | string[]>;
  upstreamRequestId: string | null;
  /** the settlement reads the real amount from the answer */
  settleFromBody: boolean;
  /** a free read whose answer may reveal the real price of an object paid for earlier */
  revealsPrice: ((answer: UpstreamAnswer) => RevealedPrice | undefined) | undefined;
}

export async function forward({ deps, vendor, inbound, res, facts, key, secrets, route, shownPath, pricing, admission }: RequestContext & Authenticated & Scoped & Priced & Admitted): Promise<Forwarded | Stop> {
  // A replay's answer is read too: the object it names may have been created by this very request
  // (a retry after a 5xx that saved nothing upstream), and must be remembered as paid for.
  const settleFromBody = pricing.kind === 'priced' && pricing.settle !== undefined;
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
    deps.metrics.requests.inc({ vendor: vendor.name, decision: 'allowed', code: 'upstream_unreachable' });
    await settleAndAnswer(
      deps,
      {
        reservationId: admission.reservationId,
        kind: 'kept',
        actualMicros: admission.reservedMicros,
        audit: auditEntry(facts, key, key.id, { status: rendered.status, decision: 'allowed', reason: 'upstream_unreachable_kept', reservedMicros: admission.reservedMicros, settledMicros: admission.reservedMicros }),
      },
      () => {
        res.writeHead(rendered.status === 503 ? 502 : rendered.status, rendered.headers);
        res.end(rendered.body);
      },
    );
    return { stop: 'answered' };
  }
  deps.metrics.upstreamSeconds.observe({ vendor: vendor.name }, Number(process.hrtime.bigint() - upstreamStarted) / 1e9);

  const responseHeaders: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(upstream.headers)) {
    if (value !== undefined && !isHopByHopResponseHeader(name)) responseHeaders[name] = value;
  }
  const upstreamRequestId = vendor.upstreamRequestId(upstream.headers) ?? null;
  return { upstream, responseHeaders, upstreamRequestId, settleFromBody, revealsPrice };
}
