/** The refusals a Stripe pricer answers with when it cannot price a request as sent. */
import { refusal } from '@keyleash/core';
import type { Pricing } from '../vendor.ts';

/** the request could be read more than one way, or does not say what keyleash needs */
export function ambiguous(reason: string): Pricing {
  return { kind: 'refused', refusal: refusal('keyleash_ambiguous_request', `Refused: ${reason}. Nothing was sent to Stripe; fix the request before retrying.`) };
}

/** the object the price depends on could not be read with the real key */
export function lookupFailed(what: string, status: number): Pricing {
  return {
    kind: 'refused',
    refusal: refusal('keyleash_ambiguous_request', `Refused: keyleash could not look up ${what} to price this request (Stripe answered ${status}). Nothing was sent; check the id.`),
  };
}
