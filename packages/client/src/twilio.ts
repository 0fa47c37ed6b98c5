import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';
import { TWILIO_PLACEHOLDER_ACCOUNT_SID, twilioBasicCredentials } from '@keyleash/core';
import { attributionHeaders, type AttributionSource } from './attribution.ts';
import { resolveProxyUrl, resolveVaultKey, type VaultKeyOptions } from './config.ts';

export { TWILIO_PLACEHOLDER_ACCOUNT_SID };

export interface TwilioForOptions extends VaultKeyOptions {
  attribution?: AttributionSource;
  /**
   * The account SID the client writes into paths. Default: the placeholder `AC` + 32 zeros, which
   * keyleash swaps for the real one; agents never need the real SID.
   */
  accountSid?: string;
  /** any other twilio-node option (region, edge, logLevel, userAgentExtensions, …) */
  twilio?: Omit<twilio.ClientOpts, 'httpClient' | 'accountSid'>;
  /**
   * Options of the RequestClient that sends through keyleash (timeout, keepAlive, autoRetry,
   * maxRetries…): twilio-node applies its own retry options only to its default client.
   */
  requestClient?: RequestClient.RequestClientOptions;
}

/**
 * twilio-node's own RequestClient, with every absolute URI rewritten to
 * `<proxy>/twilio/<twilio host><path>`: every product's host, the hosts twilio-node derives from
 * `region` / `edge` (api.sydney.us1.twilio.com), and the absolute next-page URLs newer APIs return.
 * A URI that is not an https Twilio host is refused, so the vault key never goes anywhere else.
 */
export class KeyleashTwilioRequestClient extends twilio.RequestClient {
  private readonly proxyBase: string;

  constructor(
    proxyUrl: string,
    private readonly attribution?: AttributionSource,
    options?: RequestClient.RequestClientOptions,
  ) {
    super(options);
    this.proxyBase = proxyUrl.replace(/\/+$/, '');
  }

  /** where keyleash takes `uri` */
  proxiedUri(uri: string): string {
    const url = new URL(uri);
    if (url.protocol !== 'https:' || !/(^|\.)twilio\.com$/.test(url.hostname.toLowerCase())) {
      throw new Error(`keyleash: refusing to send a vault key to ${url.origin}; only Twilio's own hosts are reached, through keyleash`);
    }
    return `${this.proxyBase}/twilio/${url.host}${url.pathname}${url.search}`;
  }

  override request<TData>(options: RequestClient.RequestOptions<TData>) {
    return super.request<TData>({ ...options, uri: this.proxiedUri(options.uri), headers: { ...options.headers, ...attributionHeaders(this.attribution) } });
  }
}

/**
 * The official Twilio client, bound to a vault key and sending every request through keyleash.
 * The vault key `vk_<id>_<secret>` is presented the way twilio-node presents an API key: Basic
 * username `vk_<id>`, password `<secret>`, with the placeholder account SID (twilio-node insists
 * on an `AC…` SID); keyleash puts the real SID and credentials in place of them.
 */
export function twilioFor(options: TwilioForOptions = {}): twilio.Twilio {
  const vaultKey = resolveVaultKey(options);
  const credentials = twilioBasicCredentials(vaultKey);
  if (!credentials) throw new Error('the vault key is not a keyleash vault key (vk_<id>_<secret>)');
  const httpClient = new KeyleashTwilioRequestClient(resolveProxyUrl(options), options.attribution, options.requestClient);
  return twilio(credentials.username, credentials.password, { ...options.twilio, accountSid: options.accountSid ?? TWILIO_PLACEHOLDER_ACCOUNT_SID, httpClient });
}
