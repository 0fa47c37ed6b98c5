/**
 * A local webhook receiver for alert tests: verifies every delivery's `Keyleash-Signature` exactly
 * as the README tells receivers to, can fail each alert's first attempts (to prove retries), and
 * keeps what arrived.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';

/** The README's verification snippet, verbatim. */
export function verifyKeyleashSignature(secret: string, header: string, rawBody: string, toleranceSeconds = 300): boolean {
  const parts = Object.fromEntries(header.split(',').map((part) => part.split('=', 2) as [string, string]));
  const timestamp = Number(parts.t);
  if (!Number.isInteger(timestamp) || Math.abs(Date.now() / 1000 - timestamp) > toleranceSeconds) return false;
  const expected = createHmac('sha256', secret).update(`${parts.t}.${rawBody}`).digest();
  const given = Buffer.from(parts.v1 ?? '', 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export interface Delivery {
  alertId: string;
  verified: boolean;
  body: any;
  answered: number;
}

export interface WebhookReceiver {
  url: string;
  deliveries: Delivery[];
  /** alert ids answered 2xx, in order */
  accepted(): string[];
  close(): Promise<void>;
}

/** @param failFirst how many attempts of each alert are answered 500 before one is accepted */
export async function startWebhookReceiver(secret: string, options: { failFirst?: number } = {}): Promise<WebhookReceiver> {
  const deliveries: Delivery[] = [];
  const attempts = new Map<string, number>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const alertId = String(req.headers['keyleash-alert-id'] ?? '');
      const verified = verifyKeyleashSignature(secret, String(req.headers['keyleash-signature'] ?? ''), raw);
      const seen = (attempts.get(alertId) ?? 0) + 1;
      attempts.set(alertId, seen);
      const answered = !verified ? 401 : seen <= (options.failFirst ?? 0) ? 500 : 204;
      deliveries.push({ alertId, verified, body: JSON.parse(raw), answered });
      res.writeHead(answered);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}/hooks/keyleash`,
    deliveries,
    accepted: () => deliveries.filter((d) => d.answered === 204).map((d) => d.alertId),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
