/**
 * Twilio serves each product from its own host (api, messaging, verify, lookups, … 39 of them in
 * twilio-node 6.3), and the SDK's `region` / `edge` options rename the host after the URL is built:
 * `api.au1.twilio.com`, `api.sydney.us1.twilio.com` (SDK-FACTS §2.2). keyleash's Twilio client keeps
 * that final host in the path, `/twilio/<host>/<path>`, and the proxy forwards to exactly that host
 * (an operator points any of them elsewhere with `--upstream <host>=<url>`).
 *
 * The endpoint allowlist sees the product's plain host (`api.twilio.com`), whatever the region or
 * edge, so one pattern covers a product everywhere and `/v1/Services` on messaging is never
 * mistaken for `/v1/Services` on chat.
 */
export interface TwilioHost {
  /** the host the request goes to, lowercase, e.g. api.sydney.us1.twilio.com */
  host: string;
  /** the product label, e.g. api, verify, messaging */
  product: string;
  /** the product's plain host, e.g. api.twilio.com: what endpoint patterns name */
  canonical: string;
}

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
/** product[.edge][.region].twilio.com */
const TWILIO_HOST = new RegExp(`^(${LABEL})(?:\\.${LABEL}){0,2}\\.twilio\\.com$`);

export function parseTwilioHost(segment: string): TwilioHost | undefined {
  const host = segment.toLowerCase();
  const match = TWILIO_HOST.exec(host);
  if (!match) return undefined;
  const product = match[1]!;
  return { host, product, canonical: `${product}.twilio.com` };
}
