import Stripe from 'stripe';
import { attributionHeaders, type AttributionSource } from './attribution.ts';
import { resolveProxyUrl, resolveVaultKey, type VaultKeyOptions } from './config.ts';

export interface StripeForOptions extends VaultKeyOptions {
  attribution?: AttributionSource;
  /** any other stripe-node option (apiVersion, maxNetworkRetries, timeout, appInfo, …) */
  stripe?: Omit<Stripe.StripeConfig, 'host' | 'port' | 'protocol' | 'httpClient'>;
}

/**
 * The official Stripe client, bound to a vault key and sending every request through keyleash.
 * stripe-node has no base-path option, so a small HttpClient rewrites each request to
 * `<proxy>/stripe/<stripe host>/<path>` (SDK-FACTS §1.1, option B): the SDK keeps choosing the
 * right Stripe host (api, files, connect, meter-events) and keyleash forwards to it.
 */
export function stripeFor(options: StripeForOptions = {}): Stripe {
  const proxy = new URL(resolveProxyUrl(options));
  const vaultKey = resolveVaultKey(options);
  const inner = Stripe.createNodeHttpClient();
  const protocol = proxy.protocol === 'https:' ? 'https' : 'http';
  const port = proxy.port || (protocol === 'https' ? '443' : '80');
  const basePath = proxy.pathname.replace(/\/$/, '');
  const httpClient: Stripe.HttpClient = {
    getClientName: () => inner.getClientName(),
    makeRequest: (host, _port, path, method, headers, body, _protocol, timeout) =>
      inner.makeRequest(
        proxy.hostname,
        port,
        `${basePath}/stripe/${host}${path}`,
        method,
        { ...headers, ...attributionHeaders(options.attribution) },
        body,
        protocol,
        timeout,
      ),
  };
  return new Stripe(vaultKey, { ...options.stripe, httpClient });
}
