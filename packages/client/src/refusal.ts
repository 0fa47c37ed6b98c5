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

export function keyleashRefusalOf(error: unknown): KeyleashRefusal | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const candidate = error as { code?: unknown; message?: unknown; statusCode?: unknown; status?: unknown };
  if (typeof candidate.code !== 'string' || !candidate.code.startsWith('keyleash_')) return undefined;
  const status = typeof candidate.statusCode === 'number' ? candidate.statusCode : typeof candidate.status === 'number' ? candidate.status : undefined;
  return { code: candidate.code, message: typeof candidate.message === 'string' ? candidate.message : candidate.code, status };
}
