import type { RefusalKind } from '@keyleash/core';

/**
 * The HTTP status of each kind of refusal. The same for every vendor: each official SDK maps these
 * statuses to its own error classes (stripe-node: StripeAuthenticationError, StripePermissionError,
 * StripeInvalidRequestError, StripeRateLimitError, StripeAPIError; twilio-node: RestException; openai:
 * AuthenticationError, PermissionDeniedError, BadRequestError, RateLimitError, InternalServerError),
 * and each vendor module adds the header or body that stops its SDK from retrying.
 */
export const REFUSAL_STATUS: Record<RefusalKind, number> = {
  authentication: 401,
  permission: 403,
  invalid_request: 400,
  rate_limit: 429,
  unavailable: 503,
};
