/**
 * Every way keyleash refuses a vendor request. Each vendor renders these in its own error shape,
 * always with the `keyleash_…` code, a message a model can act on, and nothing sent upstream.
 */
export type RefusalCode =
  | 'keyleash_missing_key'
  | 'keyleash_unknown_key'
  | 'keyleash_key_revoked'
  | 'keyleash_key_expired'
  | 'keyleash_vendor_mismatch'
  | 'keyleash_endpoint_not_allowed'
  | 'keyleash_ambiguous_request'
  | 'keyleash_conflicting_credentials'
  | 'keyleash_body_too_large'
  | 'keyleash_request_override'
  | 'keyleash_encoded_body'
  | 'keyleash_rate_limited'
  | 'keyleash_daily_cap_reached'
  | 'keyleash_total_cap_reached'
  | 'keyleash_unpriced_endpoint'
  | 'keyleash_unknown_model'
  | 'keyleash_unbounded_request'
  | 'keyleash_account_not_allowed'
  | 'keyleash_rule_violation'
  | 'keyleash_approval_denied'
  | 'keyleash_approval_timeout'
  | 'keyleash_upstream_not_configured'
  | 'keyleash_store_unavailable'
  | 'keyleash_upstream_unreachable';

/** The HTTP status class of a refusal; each vendor picks the status its SDK raises on without retrying. */
export type RefusalKind = 'authentication' | 'permission' | 'invalid_request' | 'rate_limit' | 'unavailable';

export const REFUSAL_KIND: Record<RefusalCode, RefusalKind> = {
  keyleash_missing_key: 'authentication',
  keyleash_unknown_key: 'authentication',
  keyleash_key_revoked: 'authentication',
  keyleash_key_expired: 'authentication',
  keyleash_vendor_mismatch: 'permission',
  keyleash_endpoint_not_allowed: 'permission',
  keyleash_ambiguous_request: 'invalid_request',
  keyleash_conflicting_credentials: 'invalid_request',
  // answered with 413 (the proxy overrides the status); the SDKs raise an invalid-request error
  keyleash_body_too_large: 'invalid_request',
  // a method or path override (400) and a compressed body (answered with 415)
  keyleash_request_override: 'invalid_request',
  keyleash_encoded_body: 'invalid_request',
  keyleash_rate_limited: 'rate_limit',
  keyleash_daily_cap_reached: 'permission',
  keyleash_total_cap_reached: 'permission',
  keyleash_unpriced_endpoint: 'permission',
  keyleash_unknown_model: 'permission',
  keyleash_unbounded_request: 'permission',
  keyleash_account_not_allowed: 'permission',
  keyleash_rule_violation: 'permission',
  keyleash_approval_denied: 'permission',
  keyleash_approval_timeout: 'permission',
  keyleash_upstream_not_configured: 'unavailable',
  keyleash_store_unavailable: 'unavailable',
  keyleash_upstream_unreachable: 'unavailable',
};

export interface Refusal {
  code: RefusalCode;
  /** What was refused, the numbers, and what to do next ("do not retry"). Never a secret. */
  message: string;
  /** Structured details for programs (cap, spent, requested in USD; the key id that refused). */
  details?: Record<string, string | number | null>;
}

export function refusal(code: RefusalCode, message: string, details?: Refusal['details']): Refusal {
  return details ? { code, message, details } : { code, message };
}
