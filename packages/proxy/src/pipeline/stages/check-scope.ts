/**
 * Stage 2, scope: a safely normalised path inside the key's allowlist, the vendor's own header
 * rules, and the tree's parameter rules.
 */
import { anyPatternMatches, refusal } from '@keyleash/core';
import type { VendorRoute } from '../../vendors/vendor.ts';
import { checkParameterRules } from '../../rules/check-rules.ts';
import type { Authenticated } from './authenticate-key.ts';
import type { RequestContext } from './context.ts';
import { refusedFor, type Stop } from './stop.ts';

export interface Scoped {
  route: VendorRoute;
  /** the endpoint as the agent may see it (route.path may hold what the vendor module put in, e.g. a real account SID) */
  shownPath: string;
}

export function checkScope({ vendor, inbound, routed, key, chain, allowed, secrets }: RequestContext & Authenticated): Scoped | Stop {
  const route = routed ?? vendor.route(inbound, secrets);
  if ('code' in route) return refusedFor(key, route);
  const shownPath = `/${route.segments.join('/')}`;
  if (!anyPatternMatches(allowed, inbound.method, route.segments)) {
    return refusedFor(
      key,
      refusal(
        'keyleash_endpoint_not_allowed',
        `Refused: ${inbound.method} ${shownPath} is not in vault key ${key.id}'s allowed endpoints (${key.policy.allowedEndpoints.join(', ')}). Do not retry; this key cannot call it.`,
      ),
    );
  }
  const headerRefusal = vendor.checkHeaders?.(inbound, key);
  if (headerRefusal) return refusedFor(key, headerRefusal);
  const paramRefusal = checkParameterRules(chain, inbound, route.segments);
  if (paramRefusal) return refusedFor(key, paramRefusal);
  return { route, shownPath };
}
