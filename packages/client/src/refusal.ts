/**
 * Recognises a keyleash refusal in whatever error a vendor SDK raised: stripe-node's StripeError
 * (`code`), twilio's RestException (`code`), or anything carrying a `keyleash_…` code. Adapters
 * turn these into tool results a model can read instead of crashing the agent.
 */
export interface KeyleashRefusal {
  code: string;
  message: string;
  status: number | undefined;
}

/**
 * Codes that report an outage rather than a policy decision: an agent should see these as
 * errors (something is broken, retrying later may help), not as "refused, do not retry".
 */
const OUTAGE_CODES = new Set(['keyleash_store_unavailable', 'keyleash_upstream_unreachable', 'keyleash_upstream_not_configured']);

export function keyleashRefusalOf(error: unknown): KeyleashRefusal | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const candidate = error as { code?: unknown; message?: unknown; statusCode?: unknown; status?: unknown };
  if (typeof candidate.code !== 'string' || !candidate.code.startsWith('keyleash_') || OUTAGE_CODES.has(candidate.code)) return undefined;
  const status = typeof candidate.statusCode === 'number' ? candidate.statusCode : typeof candidate.status === 'number' ? candidate.status : undefined;
  return { code: candidate.code, message: typeof candidate.message === 'string' ? candidate.message : candidate.code, status };
}
