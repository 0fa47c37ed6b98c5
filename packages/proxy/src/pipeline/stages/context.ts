/**
 * What every stage of the hot path shares: the proxy's dependencies and the request as it came in.
 * Each stage adds what it learned (the key, the route, the price, the admission...) to this context.
 */
import type { ServerResponse } from 'node:http';
import type { Refusal, Store } from '@keyleash/core';
import type { Logger } from 'pino';
import type { Metrics } from '../../metrics.ts';
import type { InboundRequest, Vendor, VendorRoute, VendorSecrets } from '../../vendors/vendor.ts';
import type { SpendAlerts } from '../../alerts/spend-crossings.ts';
import type { ApprovalGate } from '../../approvals/approval-gate.ts';
import type { CompiledPolicies } from '../compiled-policy.ts';
import type { Upstreams } from '../upstreams.ts';
import { readAttribution } from '../attribution.ts';
import { requestFacts, type RequestFacts } from './request-facts.ts';
import type { Admitted } from './admit.ts';
import type { Authenticated } from './authenticate-key.ts';
import type { Scoped } from './check-scope.ts';
import type { Forwarded } from './forward.ts';
import type { Held } from './hold-for-approval.ts';
import type { Judged } from './judge-cost.ts';
import type { Priced } from './price-call.ts';

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

export interface RequestContext {
  deps: PipelineDeps;
  vendor: Vendor;
  inbound: InboundRequest;
  res: ServerResponse;
  /**
   * where the request goes, found by the server from its method and path before the body was read
   * (the body limit depends on the host); undefined when this keyleash has none of the vendor's
   * secrets, which authentication refuses
   */
  routed: VendorRoute | Refusal | undefined;
  /** the one clock reading every check of this request is judged at */
  now: number;
  facts: RequestFacts;
}

/** Everything a stage may add to the context (stop.ts `extend`), each stage's output in order. */
type StageOutputs = Authenticated & Scoped & Priced & Judged & Held & Admitted & Forwarded;

export function beginRequest(deps: PipelineDeps, vendor: Vendor, inbound: InboundRequest, routed: VendorRoute | Refusal | undefined, res: ServerResponse): RequestContext {
  const now = deps.clock();
  const facts = requestFacts(vendor, inbound, now, readAttribution(inbound.headers));
  // Every field a stage adds is here from the start, so the context keeps one shape from the
  // first stage to the last: V8 then reads it monomorphically instead of re-shaping it (and
  // missing its inline caches) at every stage. The type makes a forgotten field a compile error.
  const context: RequestContext & { [Field in keyof StageOutputs]-?: undefined } = {
    deps,
    vendor,
    inbound,
    routed,
    res,
    now,
    facts,
    chain: undefined,
    key: undefined,
    policy: undefined,
    allowed: undefined,
    secrets: undefined,
    cached: undefined,
    route: undefined,
    shownPath: undefined,
    pricing: undefined,
    micros: undefined,
    object: undefined,
    movableMicros: undefined,
    idempotencyKey: undefined,
    reservedRequest: undefined,
    approved: undefined,
    admission: undefined,
    upstream: undefined,
    responseHeaders: undefined,
    upstreamRequestId: undefined,
    settleFromBody: undefined,
    revealsPrice: undefined,
  };
  return context;
}
