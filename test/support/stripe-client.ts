import Stripe from 'stripe';

/** The official SDK pointed at keyleash the way a user would: only the key and host/port change. */
export function stripeThrough(keyleashUrl: string, vaultKey: string, options: { maxNetworkRetries?: number } = {}): Stripe {
  const url = new URL(keyleashUrl);
  return new Stripe(vaultKey, {
    host: url.hostname,
    port: Number(url.port),
    protocol: 'http',
    maxNetworkRetries: options.maxNetworkRetries ?? 0,
    telemetry: false,
  });
}
