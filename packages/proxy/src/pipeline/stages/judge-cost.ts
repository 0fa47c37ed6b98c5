/**
 * Stage 4, per-call rules: judged on what the call can move. For a step on an existing object (a
 * raised amount, a confirm, a capture) that is the object's ceiling too, whatever the tree counted
 * before.
 */
import type { ObjectStep } from '@keyleash/core';
import { checkCostRules } from '../../rules/check-rules.ts';
import type { Authenticated } from './authenticate-key.ts';
import type { Scoped } from './check-scope.ts';
import type { RequestContext } from './context.ts';
import type { Priced } from './price-call.ts';
import { refusedFor, type Stop } from './stop.ts';

export interface Judged {
  /** a step on an existing object: the store counts what it raises the object's ceiling by */
  object: ObjectStep | undefined;
  movableMicros: number;
}

export function judgeCost({ inbound, key, chain, route, pricing, micros }: RequestContext & Authenticated & Scoped & Priced): Judged | Stop {
  const object = pricing.kind === 'priced' ? pricing.object : undefined;
  const movableMicros = micros + (object?.ceilingMicros ?? 0);
  const costRefusal = checkCostRules(chain, inbound.method, route.segments, movableMicros);
  if (costRefusal) return refusedFor(key, costRefusal);
  return { object, movableMicros };
}
