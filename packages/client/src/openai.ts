import OpenAI, { type ClientOptions } from 'openai';
import { attributionHeaders, type AttributionSource } from './attribution.ts';
import { resolveProxyUrl, resolveVaultKey, type VaultKeyOptions } from './config.ts';

export interface OpenAIForOptions extends VaultKeyOptions {
  attribution?: AttributionSource;
  /** any other openai option (maxRetries, timeout, …) */
  openai?: Omit<ClientOptions, 'apiKey' | 'baseURL' | 'fetch'>;
}

/**
 * The options that aim an OpenAI client at keyleash under a vault key: `apiKey` = the vault key,
 * `baseURL` = `<proxy>/openai/v1`, and a `fetch` that adds the attribution headers (read at every
 * request). For clients built on the openai SDK elsewhere, e.g. LangChain's
 * `new ChatOpenAI({ model, configuration: openaiClientOptions({ vaultKey }) })`.
 */
export function openaiClientOptions(options: Omit<OpenAIForOptions, 'openai'> = {}): Required<Pick<ClientOptions, 'apiKey' | 'baseURL' | 'fetch'>> {
  const attribution = options.attribution;
  return {
    apiKey: resolveVaultKey(options),
    baseURL: `${resolveProxyUrl(options)}/openai/v1`,
    fetch: (url, init) => {
      const headers = new Headers(init?.headers);
      for (const [name, value] of Object.entries(attributionHeaders(attribution))) headers.set(name, value);
      return fetch(url, { ...init, headers });
    },
  };
}

/**
 * The official OpenAI client, bound to a vault key and sending every model call through keyleash,
 * so an agent's tokens count against the same key tree (and caps) as its Stripe and Twilio calls.
 */
export function openaiFor(options: OpenAIForOptions = {}): OpenAI {
  return new OpenAI({ ...options.openai, ...openaiClientOptions(options) });
}
