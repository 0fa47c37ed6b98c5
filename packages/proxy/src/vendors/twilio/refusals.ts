import { REFUSAL_KIND, type Refusal, type RefusalKind } from '@keyleash/core';
import { REFUSAL_STATUS } from '../refusal-status.ts';
import type { RenderedRefusal } from '../vendor.ts';

/**
 * twilio-node raises `RestException` on any non-2xx answer whose JSON has Twilio's legacy error
 * shape `{code, message, more_info, status}` and copies those fields (SDK-FACTS §2.5). So every
 * refusal is that shape, with the `keyleash_…` code as `code` (a string: never mistaken for
 * RFC 9457, which needs a numeric code) and the structured numbers in `details`. The SDK retries
 * nothing by default; `autoRetry: true` retries only 429, i.e. a rate-limit refusal, which is
 * the one refusal waiting can cure.
 */
export const REFUSAL_MORE_INFO = 'keyleash refused this request before it reached Twilio; the code is one of the keyleash_… refusal codes in the keyleash README';

export function renderTwilioRefusal(refused: Refusal): RenderedRefusal {
  const status = REFUSAL_STATUS[REFUSAL_KIND[refused.code]];
  const body = { code: refused.code, message: refused.message, more_info: REFUSAL_MORE_INFO, status, ...(refused.details ? { details: refused.details } : {}) };
  return {
    status,
    headers: { 'content-type': 'application/json', 'keyleash-refusal': refused.code },
    body: JSON.stringify(body),
  };
}
