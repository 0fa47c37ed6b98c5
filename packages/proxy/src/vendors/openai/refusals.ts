import { REFUSAL_KIND, type Refusal, type RefusalKind } from '@keyleash/core';
import { REFUSAL_STATUS } from '../refusal-status.ts';
import type { RenderedRefusal } from '../vendor.ts';

/**
 * The openai SDK raises a typed error from the status (AuthenticationError, PermissionDeniedError,
 * BadRequestError, RateLimitError, …) and copies `code`/`type` from `{"error": {…}}`; it retries
 * 429 and 5xx unless the answer says `x-should-retry: false` (SDK-FACTS §5.1). So every refusal is
 * OpenAI's error envelope with the `keyleash_…` code, and is never retried by the SDK.
 */
const TYPE: Record<RefusalKind, string> = {
  authentication: 'authentication_error',
  permission: 'permission_error',
  invalid_request: 'invalid_request_error',
  rate_limit: 'rate_limit_error',
  unavailable: 'server_error',
};

export function renderOpenAIRefusal(refused: Refusal): RenderedRefusal {
  const kind = REFUSAL_KIND[refused.code];
  const body = { error: { message: refused.message, type: TYPE[kind], code: refused.code, param: null, ...(refused.details ? { keyleash: refused.details } : {}) } };
  return {
    status: REFUSAL_STATUS[kind],
    headers: { 'content-type': 'application/json', 'x-should-retry': 'false', 'keyleash-refusal': refused.code },
    body: JSON.stringify(body),
  };
}
