/**
 * Shared set-up for the Stripe end-to-end suites: one fake Stripe upstream and one real
 * `keyleash serve` process per test file (so files run in parallel), the official SDK pointed at
 * the proxy, and a raw HTTP client for requests the SDK would never send.
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import Stripe from 'stripe';
import { expect } from 'vitest';
import { adminApi, startKeyleash, type KeyleashProcess, type StartOptions } from '../support/keyleash-process.ts';
import { startFakeStripe, type FakeStripe } from '../upstreams/stripe/server.ts';

export interface StripeStack {
  /** the real Stripe secret keyleash holds; only the upstream may ever see it */
  secret: string;
  upstream: FakeStripe;
  keyleash: KeyleashProcess;
  api: ReturnType<typeof adminApi>;
  stop(): Promise<void>;
}

/** A fake Stripe and a keyleash process in front of it (all Stripe hosts point at the fake). */
export async function startStripeStack(options: { env?: Record<string, string>; upstreams?: Record<string, string>; label?: string } = {}): Promise<StripeStack> {
  const secret = `sk_test_REAL${options.label ?? ''}${randomBytes(12).toString('hex')}`;
  const upstream = await startFakeStripe({ secret });
  const start: StartOptions = {
    upstreams: {
      'api.stripe.com': upstream.url,
      'files.stripe.com': upstream.url,
      'connect.stripe.com': upstream.url,
      'meter-events.stripe.com': upstream.url,
      ...options.upstreams,
    },
    env: { STRIPE_SECRET_KEY: secret, ...options.env },
  };
  let keyleash: KeyleashProcess;
  try {
    keyleash = await startKeyleash(start);
  } catch (error) {
    await upstream.close();
    throw error;
  }
  return {
    secret,
    upstream,
    keyleash,
    api: adminApi(keyleash),
    async stop() {
      await keyleash.stop();
      await upstream.close();
    },
  };
}

export interface SdkOptions {
  maxNetworkRetries?: number;
  apiVersion?: string;
  /** every request the SDK put on the wire (before keyleash), for pass-through comparisons */
  record?: SentRequest[];
}

export interface SentRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** The official SDK aimed at keyleash: only the API key and host/port differ from production use. */
export function sdk(keyleashUrl: string, vaultKey: string, options: SdkOptions = {}): Stripe {
  const url = new URL(keyleashUrl);
  const config: Stripe.StripeConfig = {
    host: url.hostname,
    port: Number(url.port),
    protocol: 'http',
    maxNetworkRetries: options.maxNetworkRetries ?? 0,
    telemetry: false,
    ...(options.apiVersion ? { apiVersion: options.apiVersion as Stripe.StripeConfig['apiVersion'] } : {}),
  };
  const record = options.record;
  if (record) {
    const inner = Stripe.createNodeHttpClient();
    config.httpClient = {
      getClientName: () => inner.getClientName(),
      makeRequest: (host, port, path, method, headers, body, protocol, timeout) => {
        const flat: Record<string, string> = {};
        for (const [name, value] of Object.entries(headers)) flat[name.toLowerCase()] = String(value);
        record.push({ method, path, headers: flat, body: typeof body === 'string' ? body : '' });
        return inner.makeRequest(host, port, path, method, headers, body, protocol, timeout);
      },
    } as Stripe.HttpClient;
  }
  return new Stripe(vaultKey, config);
}

/** The SDK straight at the fake upstream with the real secret: "the dashboard", outside keyleash. */
export function directSdk(stack: StripeStack): Stripe {
  return new Stripe(stack.secret, { host: '127.0.0.1', port: stack.upstream.port, protocol: 'http', maxNetworkRetries: 0, telemetry: false });
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

/**
 * One HTTP request with the path exactly as given: no URL parser in between (fetch would resolve
 * `..`, `%2e%2e` and friends before keyleash ever saw them, which would test nothing).
 */
export function raw(baseUrl: string, request: { method: string; path: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<RawResponse> {
  const url = new URL(baseUrl);
  const body = request.body === undefined ? undefined : Buffer.from(request.body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: Number(url.port),
        method: request.method,
        path: request.path,
        headers: { ...request.headers, ...(body ? { 'content-length': String(body.length) } : {}) },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown = undefined;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The part of `vk_<id>_<secret>` that must never appear anywhere but in the holder's hands. */
export function vaultKeySecret(vaultKey: string): string {
  const parts = vaultKey.split('_');
  expect(parts.length).toBe(3);
  return parts[2]!;
}

/** Today's spend of a key in micro-USD, as the management API reports it. */
export async function spendMicros(stack: StripeStack, keyId: string): Promise<number> {
  const answer = await stack.api.call('GET', `/api/vault_keys/${keyId}`);
  expect(answer.status).toBe(200);
  return answer.body.spend.today_micros as number;
}

/** Audit rows of one key, oldest first. */
export async function auditOf(stack: StripeStack, keyId: string): Promise<any[]> {
  return (await stack.api.audit(`vault_key_id=${keyId}`)).reverse();
}

/** Runs `call`, expecting the SDK to raise; returns the error for further checks. */
export async function sdkError(call: Promise<unknown>): Promise<InstanceType<typeof Stripe.errors.StripeError>> {
  try {
    await call;
  } catch (error) {
    expect(error).toBeInstanceOf(Stripe.errors.StripeError);
    return error as InstanceType<typeof Stripe.errors.StripeError>;
  }
  throw new Error('expected the Stripe SDK to raise, but the call succeeded');
}

/** A well-formed vault key that no keyleash issued. */
export function unknownVaultKey(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  const pick = (n: number) => Array.from(randomBytes(n), (b) => alphabet[b & 31]).join('');
  return `vk_${pick(16)}_${pick(40)}`;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
