/**
 * What every stage of the hot path shares: the proxy's dependencies and the request as it came in.
 * Each stage adds what it learned (the key, the route, the price, the admission...) to this context.
 */
import type { ServerResponse } from 'node:http';
import type { Store } from '@keyleash/core';
import type { Logger } from 'pino';
import type { Metrics } from '../../metrics.ts';
import type { InboundRequest, Vendor, VendorSecrets } from '../../vendors/vendor.ts';
import type { SpendAlerts } from '../../alerts/spend-crossings.ts';
import type { ApprovalGate } from '../../approvals/approval-gate.ts';
import type { CompiledPolicies } from '../compiled-policy.ts';
import type { Upstreams } from '../upstreams.ts';
import { readAttribution } from '../attribution.ts';
import type { RequestFacts } from './request-facts.ts';

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
  /** the one clock reading every check of this request is judged at */
  now: number;
  facts: RequestFacts;
}

export function beginRequest(deps: PipelineDeps, vendor: Vendor, inbound: InboundRequest, res: ServerResponse): RequestContext {
  const now = deps.clock();
  const facts: RequestFacts = { vendor, inbound, startedAt: now, startedHr: process.hrtime.bigint(), attribution: readAttribution(inbound.headers) };
  return { deps, vendor, inbound, res, now, facts };
}
