/**
 * Shared set-up for the Stripe end-to-end suites: one fake Stripe upstream and one real
 * `keyleash serve` process per test file (so files run in parallel), the official SDK pointed at
 * the proxy, and a raw HTTP client for requests the SDK would never send.
 */
import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';
import { expect } from 'vitest';
import { adminApi, startKeyleash, type KeyleashProcess, type StartOptions } from '../support/keyleash-process.ts';
import { perFileStack } from '../support/per-file-stack.ts';
import { startFakeStripe, type FakeStripe } from '../upstreams/stripe/server.ts';

export { auditOf, spendMicros } from '../support/key-reads.ts';
export { raw, type RawResponse } from '../support/raw-http.ts';

export interface StripeStack {
  /** the real Stripe secret keyleash holds; only the upstream may ever see it */
  secret: string;
  upstream: FakeStripe;
  keyleash: KeyleashProcess;
  api: ReturnType<typeof adminApi>;
  stop(): Promise<void>;
}

export interface StripeStackOptions {
  env?: Record<string, string>;
  upstreams?: Record<string, string>;
  label?: string;
}

/** A fake Stripe and a keyleash process in front of it (all Stripe hosts point at the fake). */
export async function startStripeStack(options: StripeStackOptions = {}): Promise<StripeStack> {
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

/** The calling test file's stack: started before its tests, stopped after them (use it inside tests and hooks). */
export function useStripeStack(options: StripeStackOptions = {}): StripeStack {
  return perFileStack(() => startStripeStack(options));
}

/** A Stripe key for PaymentIntent creates and confirms, $100 a day, for an hour; `policy` overrides any of it. */
export function issueStripeKey(stack: StripeStack, policy: Record<string, unknown> = {}) {
  return stack.api.issue({
    vendor: 'stripe',
    daily_usd_cap: 100,
    allowed_endpoints: ['POST /v1/payment_intents', 'POST /v1/payment_intents/*/confirm'],
    expires_in: '1h',
    ...policy,
  });
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

/** The part of `vk_<id>_<secret>` that must never appear anywhere but in the holder's hands. */
export function vaultKeySecret(vaultKey: string): string {
  const parts = vaultKey.split('_');
  expect(parts.length).toBe(3);
  return parts[2]!;
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
