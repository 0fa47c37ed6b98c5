import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { normaliseRequestPath, refusal, TWILIO_PLACEHOLDER_ACCOUNT_SID, type Refusal, type TwilioPriceTable } from '@keyleash/core';
import { copyForwardableHeaders } from '../forwardable-headers.ts';
import type { InboundRequest, RoutableRequest, Pricing, PricingContext, Vendor, VendorRoute, VendorSecrets } from '../vendor.ts';
import { resolveAccountSegments, rewriteTwilioBody } from './account-sid.ts';
import { readTwilioSecrets, secretValues, TWILIO_SECRET_ENV, twilioAuthorization, vaultKeyFromBasic } from './credentials.ts';
import { parseTwilioHost } from './hosts.ts';
import { TwilioPricing } from './pricing.ts';
import { renderTwilioRefusal } from './refusals.ts';

const IDEMPOTENCY_HEADER = 'i-twilio-idempotency-token';

/**
 * Twilio behind keyleash: `/twilio/<twilio host>/<path>` for every Twilio host (regions and edges
 * included), the vault key in HTTP Basic, the real account SID in paths and the placeholder in
 * answers, prices from a dated table, and refusals as twilio-node's RestException.
 */
export function createTwilioVendor(options: { prices: () => TwilioPriceTable }): Vendor {
  const pricing = new TwilioPricing(options.prices);

  return {
    name: 'twilio',
    secretEnv: TWILIO_SECRET_ENV,
    readSecrets: readTwilioSecrets,
    presentedVaultKey: vaultKeyFromBasic,

    route(request: RoutableRequest, secrets: VendorSecrets): VendorRoute | Refusal {
      const normalised = normaliseRequestPath(request.rawPath);
      if (!normalised.ok) return refusal('keyleash_ambiguous_request', `Refused: ${normalised.reason}. Nothing was sent to Twilio.`);
      const [first = '', ...path] = normalised.segments;
      const host = parseTwilioHost(first);
      if (!host) {
        return refusal(
          'keyleash_ambiguous_request',
          `Refused: keyleash takes Twilio requests as /twilio/<Twilio host>/<path> (e.g. /twilio/api.twilio.com/2010-04-01/Accounts/${TWILIO_PLACEHOLDER_ACCOUNT_SID}/Messages.json), and "${first.slice(0, 64)}" is not a Twilio host. twilioFor() in @keyleash/client builds these paths for every Twilio host. Nothing was sent.`,
        );
      }
      if (path.length === 0) return refusal('keyleash_ambiguous_request', `Refused: the path names the Twilio host ${host.host} but no endpoint. Nothing was sent.`);
      const accounts = resolveAccountSegments(path, secrets.TWILIO_ACCOUNT_SID!);
      if (!accounts.ok) {
        return refusal(
          'keyleash_account_not_allowed',
          `Refused: the path names the Twilio account ${accounts.account.slice(0, 8)}…, but a vault key acts only for the account keyleash holds, named by the placeholder SID ${TWILIO_PLACEHOLDER_ACCOUNT_SID}. Nothing was sent; do not retry with another account.`,
        );
      }
      return { upstreamHost: host.host, segments: [host.canonical, ...accounts.canonical], path: `/${accounts.upstream.join('/')}` };
    },

    async price(request: InboundRequest, route: VendorRoute, context: PricingContext): Promise<Pricing> {
      return pricing.price(request, route, context.key);
    },

    upstreamHeaders(request: InboundRequest, secrets: VendorSecrets) {
      // every answer is rewritten (account SID, secrets), so it is asked for uncompressed
      const headers = copyForwardableHeaders(request.headers, ['authorization', 'accept-encoding']);
      headers.authorization = twilioAuthorization(secrets);
      return headers;
    },

    lookupHeaders(secrets: VendorSecrets) {
      return { authorization: twilioAuthorization(secrets) };
    },

    /**
     * `I-Twilio-Idempotency-Token`, bound to the request it came with: a token reused for a
     * different request (another `To`, another body) is priced as a new request, whatever Twilio
     * then does with the token. Only an identical repeat is the free replay.
     */
    idempotencyKey(request: InboundRequest): string | undefined {
      const value = request.headers[IDEMPOTENCY_HEADER];
      if (typeof value !== 'string' || value.length === 0) return undefined;
      const fingerprint = createHash('sha256').update(`${request.method} ${request.rawPath}?${request.rawQuery}\n`).update(request.body).digest('hex').slice(0, 16);
      return `${value.slice(0, 200)}#${fingerprint}`;
    },

    upstreamRequestId(headers: IncomingHttpHeaders): string | undefined {
      const value = headers['twilio-request-id'];
      return typeof value === 'string' ? value : undefined;
    },

    renderRefusal: renderTwilioRefusal,

    rewriteResponseBody(body: Buffer, headers: IncomingHttpHeaders, secrets: VendorSecrets): Buffer {
      const contentType = headers['content-type'];
      return rewriteTwilioBody(body, typeof contentType === 'string' ? contentType : undefined, secrets.TWILIO_ACCOUNT_SID!, secretValues(secrets));
    },
  };
}
