/**
 * Stage 3, price: what the call costs, known before anything is sent, possibly by asking the
 * vendor with the real secret. An unpriced call costs what the key's `unpriced` policy says, if
 * anything.
 */
import { refusal } from '@keyleash/core';
import type { Pricing } from '../../vendors/vendor.ts';
import { freshlyActive, KeyNoLongerActive } from '../authenticate.ts';
import { decideUnpriced } from '../unpriced.ts';
import type { Authenticated } from './authenticate-key.ts';
import type { Scoped } from './check-scope.ts';
import type { RequestContext } from './context.ts';
import { refusedFor, type Stop } from './stop.ts';

export interface Priced {
  pricing: Pricing;
  /** what the call reserves by itself */
  micros: number;
}

export async function priceCall({ deps, vendor, inbound, now, key, chain, policy, secrets, cached, route, shownPath }: RequestContext & Authenticated & Scoped): Promise<Priced | Stop> {
  let pricing: Pricing;
  // a key authenticated from the cache is re-read before keyleash calls the vendor for it
  let recheck = cached;
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
    if (error instanceof KeyNoLongerActive) return refusedFor(key, error.refusal);
    deps.logger.warn({ err: error, vendor: vendor.name, path: route.path }, 'pricing failed');
    return refusedFor(
      key,
      refusal('keyleash_upstream_unreachable', `Refused: keyleash could not price ${inbound.method} ${shownPath} because a lookup at ${vendor.name} failed. Nothing was sent; retry later.`),
    );
  }
  switch (pricing.kind) {
    case 'refused':
      return refusedFor(key, pricing.refusal);
    case 'free':
      return { pricing, micros: 0 };
    case 'priced':
      return { pricing, micros: pricing.micros };
    case 'unpriced': {
      const decision = decideUnpriced(chain, policy.unpriced, inbound.method, route.segments, pricing.label, pricing.policyPattern);
      if (!decision.ok) return refusedFor(key, decision.refusal);
      return { pricing, micros: decision.micros };
    }
  }
}
