/**
 * Shared set-up for the Twilio end-to-end suites: the official `twilio` package (through
 * `twilioFor`) -> a real `keyleash serve` process -> a recording pass-through -> Prism serving
 * Twilio's OpenAPI specs. One stack per test file; every Twilio host keyleash may reach points at
 * the recorder.
 */
import { randomBytes } from 'node:crypto';
import twilio from 'twilio';
import { beforeEach, expect } from 'vitest';
import { twilioBasicCredentials } from '../../packages/core/src/index.ts';
import { twilioFor, type TwilioForOptions } from '../../packages/client/src/index.ts';
import { adminApi, startKeyleash, type KeyleashProcess } from '../support/keyleash-process.ts';
import { perFileStack } from '../support/per-file-stack.ts';
import { raw as rawRequest, type RawResponse } from '../support/raw-http.ts';
import { startPrism, type Prism, type TWILIO_SPECS } from '../upstreams/twilio/prism.ts';
import { startTwilioRecorder, type TwilioRecorder } from '../upstreams/twilio/recorder.ts';

export { auditOf, spendMicros } from '../support/key-reads.ts';
export type { RawResponse };

export const TWILIO_HOSTS = [
  'api.twilio.com',
  'api.sydney.us1.twilio.com',
  'api.au1.twilio.com',
  'verify.twilio.com',
  'lookups.twilio.com',
  'messaging.twilio.com',
  'accounts.twilio.com',
];

export const USD = 1_000_000;
/** the built-in price table's prices, in micro-USD */
export const PRICE = {
  smsUS: 8_300,
  smsGB: 52_400,
  mmsUS: 22_000,
  voiceUSPerMinute: 14_000,
  verify: 50_000,
} as const;

export const US = '+14155550100';
export const GB = '+447700900123';
/** +992: no calling code in the built-in table */
export const UNKNOWN_COUNTRY = '+992123456789';
export const FROM = '+14155550199';

export interface TwilioStack {
  accountSid: string;
  /** the real secret keyleash holds (auth token, or API key secret) */
  secret: string;
  recorder: TwilioRecorder;
  keyleash: KeyleashProcess;
  api: ReturnType<typeof adminApi>;
  stop(): Promise<void>;
}

function hex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

export interface TwilioStackOptions {
  products?: (keyof typeof TWILIO_SPECS)[];
  auth?: 'token' | 'api_key';
  env?: Record<string, string>;
}

export async function startTwilioStack(options: TwilioStackOptions = {}): Promise<TwilioStack> {
  const accountSid = `AC${hex(16)}`;
  const secret = `REALSECRET${hex(11)}`;
  const apiKeySid = `SK${hex(16)}`;
  const prisms: Prism[] = [];
  const stopAll = async (...things: ({ stop(): Promise<void> } | { close(): Promise<void> } | undefined)[]) => {
    for (const thing of things) if (thing) await ('stop' in thing ? thing.stop() : thing.close());
  };
  try {
    for (const product of options.products ?? ['api']) prisms.push(await startPrism(product));
  } catch (error) {
    await stopAll(...prisms);
    throw error;
  }
  const targets = Object.fromEntries((options.products ?? ['api']).map((product, i) => [product, prisms[i]!.url]));
  const apiKey = options.auth === 'api_key';
  const recorder = await startTwilioRecorder({
    targets,
    accountSid,
    expectedUsername: apiKey ? apiKeySid : accountSid,
    expectedPassword: secret,
    echoAccount: { authToken: secret },
  });
  let keyleash: KeyleashProcess;
  try {
    keyleash = await startKeyleash({
      upstreams: recorder.upstreamsFor(TWILIO_HOSTS),
      env: {
        TWILIO_ACCOUNT_SID: accountSid,
        ...(apiKey ? { TWILIO_API_KEY_SID: apiKeySid, TWILIO_API_KEY_SECRET: secret } : { TWILIO_AUTH_TOKEN: secret }),
        ...options.env,
      },
    });
  } catch (error) {
    await stopAll(recorder, ...prisms);
    throw error;
  }
  return {
    accountSid,
    secret,
    recorder,
    keyleash,
    api: adminApi(keyleash),
    async stop() {
      await stopAll(keyleash, recorder, ...prisms);
    },
  };
}

/**
 * The calling test file's stack: started before its tests, stopped after them, its recorder reset
 * before each test (use it inside tests and hooks).
 */
export function useTwilioStack(options: TwilioStackOptions = {}): TwilioStack {
  const stack = perFileStack(() => startTwilioStack(options));
  beforeEach(() => {
    stack.recorder.reset();
  });
  return stack;
}

/** A Twilio key; every issued key's secret is registered with the recorder as "must never reach Twilio". */
export async function issueTwilioKey(stack: TwilioStack, policy: Record<string, unknown> = {}) {
  const key = await stack.api.issue({
    vendor: 'twilio',
    daily_usd_cap: 10,
    allowed_endpoints: ['* /api.twilio.com/**'],
    expires_in: '1h',
    ...policy,
  });
  stack.recorder.forbid(vaultKeySecret(key.vault_key));
  return key;
}

export function client(stack: TwilioStack, vaultKey: string, options: Omit<TwilioForOptions, 'vaultKey' | 'proxyUrl'> = {}): twilio.Twilio {
  return twilioFor({ vaultKey, proxyUrl: stack.keyleash.url, ...options });
}

export function vaultKeySecret(vaultKey: string): string {
  return twilioBasicCredentials(vaultKey)!.password;
}

/** Runs `call`, expecting twilio-node to raise a RestException; returns it. */
export async function restException(call: Promise<unknown>): Promise<InstanceType<typeof twilio.RestException>> {
  try {
    await call;
  } catch (error) {
    expect(error).toBeInstanceOf(twilio.RestException);
    return error as InstanceType<typeof twilio.RestException>;
  }
  throw new Error('expected twilio-node to raise, but the call succeeded');
}

export function basic(vaultKey: string): string {
  const { username, password } = twilioBasicCredentials(vaultKey)!;
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/** One HTTP request with the path exactly as given (no URL parser in between); a body is a form unless the headers say otherwise. */
export function raw(baseUrl: string, request: { method: string; path: string; headers?: Record<string, string>; body?: string }): Promise<RawResponse> {
  const formBody: Record<string, string> = request.body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' };
  return rawRequest(baseUrl, { ...request, headers: { ...formBody, ...request.headers } });
}

export function form(params: [string, string][]): string {
  return params.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join('&');
}
