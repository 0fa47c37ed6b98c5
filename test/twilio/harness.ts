/**
 * Shared set-up for the Twilio end-to-end suites: the official `twilio` package (through
 * `twilioFor`) -> a real `keyleash serve` process -> a recording pass-through -> Prism serving
 * Twilio's OpenAPI specs. One stack per test file; every Twilio host keyleash may reach points at
 * the recorder.
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import twilio from 'twilio';
import { expect } from 'vitest';
import { twilioBasicCredentials } from '../../packages/core/src/index.ts';
import { twilioFor, type TwilioForOptions } from '../../packages/client/src/index.ts';
import { adminApi, startKeyleash, type KeyleashProcess } from '../support/keyleash-process.ts';
import { startPrism, type Prism, type TWILIO_SPECS } from '../upstreams/twilio/prism.ts';
import { startTwilioRecorder, type TwilioRecorder } from '../upstreams/twilio/recorder.ts';

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

export async function startTwilioStack(options: { products?: (keyof typeof TWILIO_SPECS)[]; auth?: 'token' | 'api_key'; env?: Record<string, string> } = {}): Promise<TwilioStack> {
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

/** Audit rows of one key, oldest first. */
export async function auditOf(stack: TwilioStack, keyId: string): Promise<any[]> {
  return (await stack.api.audit(`vault_key_id=${keyId}`)).reverse();
}

export async function spendMicros(stack: TwilioStack, keyId: string): Promise<number> {
  const answer = await stack.api.call('GET', `/api/vault_keys/${keyId}`);
  expect(answer.status).toBe(200);
  return answer.body.spend.today_micros as number;
}

export function basic(vaultKey: string): string {
  const { username, password } = twilioBasicCredentials(vaultKey)!;
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

/** One HTTP request with the path exactly as given (no URL parser in between). */
export function raw(baseUrl: string, request: { method: string; path: string; headers?: Record<string, string>; body?: string }): Promise<RawResponse> {
  const url = new URL(baseUrl);
  const body = request.body === undefined ? undefined : Buffer.from(request.body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: Number(url.port),
        method: request.method,
        path: request.path,
        headers: { ...(body ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(body.length) } : {}), ...request.headers },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
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

export function form(params: [string, string][]): string {
  return params.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join('&');
}
