import { REFUSAL_KIND, type Refusal, type RefusalKind } from '@keyleash/core';
import { REFUSAL_STATUS } from '../refusal-status.ts';
import type { RenderedRefusal } from '../vendor.ts';

/**
 * stripe-node picks its error class from the HTTP status, treats any JSON without an `error` key
 * as success, and retries 409/5xx unless told not to (SDK-FACTS §1.5-1.6). So every refusal is
 * Stripe's envelope, on a status that raises the right class, with `Stripe-Should-Retry: false`.
 */
export function renderStripeRefusal(refused: Refusal): RenderedRefusal {
  const kind = REFUSAL_KIND[refused.code];
  const type = kind === 'unavailable' ? 'api_error' : 'invalid_request_error';
  const body = { error: { type, code: refused.code, message: refused.message, ...(refused.details ? { keyleash: refused.details } : {}) } };
  return {
    status: REFUSAL_STATUS[kind],
    headers: { 'content-type': 'application/json', 'stripe-should-retry': 'false', 'keyleash-refusal': refused.code },
    body: JSON.stringify(body),
  };
}
