/**
 * stripe-node has no base-path option, and once its `host` is overridden it sends uploads, OAuth
 * and meter events to that same host (SDK-FACTS §1.1). So an un-prefixed path is routed to the
 * Stripe host that really serves it; a client may also name the host explicitly as the first
 * segment (`/stripe/files.stripe.com/v1/files`).
 */
export const STRIPE_HOSTS = ['api.stripe.com', 'files.stripe.com', 'connect.stripe.com', 'meter-events.stripe.com'] as const;
export type StripeHost = (typeof STRIPE_HOSTS)[number];

export function isStripeHost(text: string): text is StripeHost {
  return (STRIPE_HOSTS as readonly string[]).includes(text);
}

export function stripeHostForPath(method: string, segments: readonly string[]): StripeHost {
  const [version, resource, id, action] = segments;
  if (version === 'oauth') return 'connect.stripe.com';
  if (version === 'v1' && resource === 'files' && method === 'POST' && segments.length === 2) return 'files.stripe.com';
  if (version === 'v1' && resource === 'quotes' && action === 'pdf' && id !== undefined && segments.length === 4) return 'files.stripe.com';
  if (version === 'v2' && segments.join('/') === 'v2/billing/meter_event_stream') return 'meter-events.stripe.com';
  return 'api.stripe.com';
}
