import { createHmac } from 'node:crypto';

/**
 * `Keyleash-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` with the server's
 * KEYLEASH_WEBHOOK_SECRET (the scheme Stripe uses for its own webhooks). The timestamp is signed
 * with the body, so a receiver that rejects old timestamps also rejects replays; each delivery
 * attempt is signed afresh.
 */
export const SIGNATURE_HEADER = 'keyleash-signature';

export function signWebhook(secret: string, body: string, timestampSeconds: number): string {
  const digest = createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest('hex');
  return `t=${timestampSeconds},v1=${digest}`;
}
