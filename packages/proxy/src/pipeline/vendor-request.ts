/**
 * The hot path, as a list of stages (stages/): authenticate -> scope -> price -> per-call rules ->
 * approval -> admit -> forward -> settle. Each stage adds what it learned to the request's context
 * or stops the request; every stop is answered in one place (stages/stop.ts), a refusal in the
 * vendor's own error shape with its audit row. A refused request reaches no upstream; every
 * admitted request has a durable reservation before a byte goes upstream.
 */
import type { ServerResponse } from 'node:http';
import type { Refusal } from '@keyleash/core';
import type { InboundRequest, Vendor, VendorRoute } from '../vendors/vendor.ts';
import { admit } from './stages/admit.ts';
import { authenticateKey } from './stages/authenticate-key.ts';
import { checkScope } from './stages/check-scope.ts';
import { beginRequest, type PipelineDeps, type RequestContext } from './stages/context.ts';
import { forward } from './stages/forward.ts';
import { holdForApproval } from './stages/hold-for-approval.ts';
import { judgeCost } from './stages/judge-cost.ts';
import { priceCall } from './stages/price-call.ts';
import { settle } from './stages/settle.ts';
import { answerStop, extend, isStop, type Stop } from './stages/stop.ts';

export type { PipelineDeps } from './stages/context.ts';

/** `routed`: the route the server found from the method and path (see `RequestContext.routed`) */
export async function handleVendorRequest(deps: PipelineDeps, vendor: Vendor, inbound: InboundRequest, routed: VendorRoute | Refusal | undefined, res: ServerResponse): Promise<void> {
  const request = beginRequest(deps, vendor, inbound, routed, res);
  const stopped = await runStages(request);
  if (stopped) await answerStop(request, stopped);
}

/** The stages in order; the first that stops ends the request. Synchronous stages stay synchronous. */
async function runStages(request: RequestContext): Promise<Stop | undefined> {
  const authenticated = extend(request, await authenticateKey(request));
  if (isStop(authenticated)) return authenticated;
  const scoped = extend(authenticated, checkScope(authenticated));
  if (isStop(scoped)) return scoped;
  const priced = extend(scoped, await priceCall(scoped));
  if (isStop(priced)) return priced;
  const judged = extend(priced, judgeCost(priced));
  if (isStop(judged)) return judged;
  const held = extend(judged, await holdForApproval(judged));
  if (isStop(held)) return held;
  const admitted = extend(held, await admit(held));
  if (isStop(admitted)) return admitted;
  const forwarded = extend(admitted, await forward(admitted));
  if (isStop(forwarded)) return forwarded;
  await settle(forwarded);
  return undefined;
}
