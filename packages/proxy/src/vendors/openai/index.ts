import type { IncomingHttpHeaders } from 'node:http';
import { anyPatternMatches, normaliseRequestPath, parseEndpointPattern, refusal, type OpenAIPriceTable, type Refusal } from '@keyleash/core';
import { bearerToken } from '../bearer-token.ts';
import { copyForwardableHeaders } from '../forwardable-headers.ts';
import type { InboundRequest, RoutableRequest, Pricing, PricingContext, Vendor, VendorRoute, VendorSecrets } from '../vendor.ts';
import { priceModelCall, type ModelApi } from './model-call.ts';
import { renderOpenAIRefusal } from './refusals.ts';

export const OPENAI_HOST = 'api.openai.com';

/** The model calls keyleash prices from tokens. */
const MODEL_CALLS: Record<string, ModelApi> = {
  'v1/chat/completions': 'chat.completions',
  'v1/responses': 'responses',
  'v1/embeddings': 'embeddings',
};

/** Reads and bookkeeping that cost nothing: listing models, counting tokens, fetching, cancelling or deleting stored answers. */
const FREE_ENDPOINTS = [
  'GET /v1/models',
  'GET /v1/models/*',
  'POST /v1/responses/input_tokens',
  'GET /v1/responses/*',
  'GET /v1/responses/*/input_items',
  'POST /v1/responses/*/cancel',
  'DELETE /v1/responses/*',
  'GET /v1/chat/completions',
  'GET /v1/chat/completions/*',
  'GET /v1/chat/completions/*/messages',
  'DELETE /v1/chat/completions/*',
].map((text) => {
  const parsed = parseEndpointPattern(text);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.pattern;
});

/**
 * OpenAI behind keyleash: `/openai/v1/…` to api.openai.com, the vault key as the SDK's
 * `Authorization: Bearer`, model calls reserved at their worst case and settled to the `usage`
 * OpenAI reports (streams included), refusals in OpenAI's error envelope.
 */
export function createOpenAIVendor(options: { prices: () => OpenAIPriceTable }): Vendor {
  return {
    name: 'openai',
    secretEnv: ['OPENAI_API_KEY'],

    readSecrets(env) {
      const secret = env.OPENAI_API_KEY;
      return secret ? { OPENAI_API_KEY: secret } : undefined;
    },

    presentedVaultKey(headers: IncomingHttpHeaders): string | undefined {
      return bearerToken(headers.authorization);
    },

    route(request: RoutableRequest): VendorRoute | Refusal {
      const normalised = normaliseRequestPath(request.rawPath);
      if (!normalised.ok) return refusal('keyleash_ambiguous_request', `Refused: ${normalised.reason}. Nothing was sent to OpenAI.`);
      const segments = normalised.segments;
      if (segments[0] !== 'v1') {
        return refusal('keyleash_ambiguous_request', 'Refused: keyleash takes OpenAI requests as /openai/v1/… (the openai SDK with baseURL http://<keyleash>/openai/v1). Nothing was sent.');
      }
      return { upstreamHost: OPENAI_HOST, segments, path: `/${segments.join('/')}` };
    },

    async price(request: InboundRequest, route: VendorRoute, context: PricingContext): Promise<Pricing> {
      const label = `${request.method} ${route.path}`;
      const api = request.method === 'POST' ? MODEL_CALLS[route.segments.join('/')] : undefined;
      if (api) return priceModelCall(api, request.body, context.chain, options.prices());
      if (anyPatternMatches(FREE_ENDPOINTS, request.method, route.segments)) return { kind: 'free', label };
      // images, audio, files, batches, fine-tuning, vector stores, …: no formula here
      return { kind: 'unpriced', label };
    },

    upstreamHeaders(request: InboundRequest, secrets: VendorSecrets) {
      // the operator's key decides the organization and project that are billed, not the agent
      const headers = copyForwardableHeaders(request.headers, ['authorization', 'openai-organization', 'openai-project']);
      headers.authorization = `Bearer ${secrets.OPENAI_API_KEY}`;
      return headers;
    },

    lookupHeaders(secrets: VendorSecrets) {
      return { authorization: `Bearer ${secrets.OPENAI_API_KEY}` };
    },

    // OpenAI bills every model call, retries included: there is no free replay to recognise
    idempotencyKey: () => undefined,

    upstreamRequestId(headers: IncomingHttpHeaders): string | undefined {
      const value = headers['x-request-id'];
      return typeof value === 'string' ? value : undefined;
    },

    renderRefusal: renderOpenAIRefusal,
  };
}
