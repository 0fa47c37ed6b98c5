import type { IncomingHttpHeaders } from 'node:http';
import { normaliseRequestPath, refusal, type FxTable, type Refusal, type VaultKeyRecord } from '@keyleash/core';
import type { InboundRequest, RoutableRequest, Pricing, PricingContext, Vendor, VendorRoute, VendorSecrets } from '../vendor.ts';
import { bearerToken } from '../bearer-token.ts';
import { copyForwardableHeaders } from '../forwardable-headers.ts';
import { createTableClassifier } from './classify.ts';
import { isStripeHost, stripeHostForPath } from './hosts.ts';
import { StripePricing } from './pricing.ts';
import { renderStripeRefusal } from './refusals.ts';

export function createStripeVendor(options: { fx: () => FxTable }): Vendor {
  const pricing = new StripePricing(options.fx);
  const classifyByTable = createTableClassifier(options.fx);

  return {
    name: 'stripe',
    secretEnv: ['STRIPE_SECRET_KEY'],

    readSecrets(env) {
      const secret = env.STRIPE_SECRET_KEY;
      return secret ? { STRIPE_SECRET_KEY: secret } : undefined;
    },

    presentedVaultKey(headers: IncomingHttpHeaders): string | undefined {
      return bearerToken(headers.authorization);
    },

    route(request: RoutableRequest): VendorRoute | Refusal {
      const normalised = normaliseRequestPath(request.rawPath);
      if (!normalised.ok) return refusal('keyleash_ambiguous_request', `Refused: ${normalised.reason}. Nothing was sent to Stripe.`);
      let segments = normalised.segments;
      let upstreamHost: string;
      if (isStripeHost(segments[0]!)) {
        upstreamHost = segments[0]!;
        segments = segments.slice(1);
        if (segments.length === 0) return refusal('keyleash_ambiguous_request', 'Refused: the path names a Stripe host but no endpoint.');
      } else {
        upstreamHost = stripeHostForPath(request.method, segments);
      }
      return { upstreamHost, segments, path: `/${segments.join('/')}` };
    },

    checkHeaders(request: InboundRequest, key: VaultKeyRecord): Refusal | undefined {
      for (const header of ['stripe-account', 'stripe-context'] as const) {
        const value = request.headers[header];
        if (value === undefined) continue;
        const account = Array.isArray(value) ? value.join(',') : value;
        if (!key.policy.stripeAccounts.includes(account)) {
          const allowed = key.policy.stripeAccounts.length ? `only ${key.policy.stripeAccounts.join(', ')}` : 'only the platform account (no Stripe-Account header)';
          return refusal(
            'keyleash_account_not_allowed',
            `Refused: this vault key may not act for connected account "${account.slice(0, 64)}" (${header}); it may act for ${allowed}. Do not retry with this key.`,
          );
        }
      }
      return undefined;
    },

    async price(request: InboundRequest, route: VendorRoute, context: PricingContext): Promise<Pricing> {
      const operation = pricing.find(request.method, route.segments);
      if (operation) return pricing.price(operation, request, route, context);
      // no Stripe read moves money; every POST and DELETE is in the operation table (operations.ts)
      if (request.method === 'GET' || request.method === 'HEAD') return { kind: 'free', label: `${request.method} ${route.path}` };
      return classifyByTable(request, route, context);
    },

    upstreamHeaders(request: InboundRequest, secrets: VendorSecrets) {
      const headers = copyForwardableHeaders(request.headers, ['authorization']);
      headers.authorization = `Bearer ${secrets.STRIPE_SECRET_KEY}`;
      return headers;
    },

    lookupHeaders(secrets: VendorSecrets) {
      return { authorization: `Bearer ${secrets.STRIPE_SECRET_KEY}`, 'stripe-version': '2026-10-28.endive' };
    },

    idempotencyKey(request: InboundRequest): string | undefined {
      const value = request.headers['idempotency-key'];
      return typeof value === 'string' && value.length > 0 ? value : undefined;
    },

    upstreamRequestId(headers: IncomingHttpHeaders): string | undefined {
      const value = headers['request-id'];
      return typeof value === 'string' ? value : undefined;
    },

    renderRefusal: renderStripeRefusal,
  };
}
