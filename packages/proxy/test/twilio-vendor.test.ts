import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TWILIO_PRICE_TABLE,
  generateVaultKey,
  twilioBasicCredentials,
  TWILIO_PLACEHOLDER_ACCOUNT_SID,
  type Policy,
  type Refusal,
  type Store,
  type VaultKeyRecord,
} from '@keyleash/core';
import { createTwilioVendor } from '../src/vendors/twilio/index.ts';
import { parseTwilioHost } from '../src/vendors/twilio/hosts.ts';
import { priceFromAnswer } from '../src/vendors/twilio/pricing.ts';
import type { InboundRequest, Pricing, VendorRoute } from '../src/vendors/vendor.ts';
import { rootKeyRecord } from './root-key-record.ts';

const REAL_SID = `AC${'1234abcd'.repeat(4)}`;
const TOKEN = 'real-auth-token-0123456789';
const secrets = { TWILIO_ACCOUNT_SID: REAL_SID, TWILIO_AUTH_TOKEN: TOKEN };
const vendor = createTwilioVendor({ prices: () => DEFAULT_TWILIO_PRICE_TABLE });

function request(method: string, rawPath: string, body = '', rawQuery = '', headers: Record<string, string> = {}): InboundRequest {
  return {
    method,
    rawPath,
    rawQuery,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: Buffer.from(body),
  };
}

function routed(inbound: InboundRequest): VendorRoute {
  const route = vendor.route(inbound, secrets);
  if ('code' in route) throw new Error(`refused: ${route.message}`);
  return route;
}

function refusedRoute(inbound: InboundRequest): Refusal {
  const route = vendor.route(inbound, secrets);
  if (!('code' in route)) throw new Error('expected a refusal');
  return route;
}

function key(twilio?: Policy['twilio']): VaultKeyRecord {
  return rootKeyRecord({ vendor: 'twilio', dailyCapMicros: 1_000_000, ...(twilio ? { twilio } : {}) });
}

async function price(inbound: InboundRequest, twilio?: Policy['twilio']): Promise<Pricing> {
  const record = key(twilio);
  return vendor.price(inbound, routed(inbound), { key: record, chain: [record], store: {} as Store, lookup: () => Promise.reject(new Error('no lookups')) });
}

const messages = `/api.twilio.com/2010-04-01/Accounts/${TWILIO_PLACEHOLDER_ACCOUNT_SID}/Messages.json`;
const calls = `/api.twilio.com/2010-04-01/Accounts/${TWILIO_PLACEHOLDER_ACCOUNT_SID}/Calls.json`;
const form = (params: Record<string, string | string[]>) =>
  Object.entries(params)
    .flatMap(([name, value]) => (Array.isArray(value) ? value : [value]).map((v) => `${name}=${encodeURIComponent(v)}`))
    .join('&');

describe('Twilio hosts', () => {
  it('recognises every product host and its region / edge forms, naming the product’s plain host', () => {
    expect(parseTwilioHost('api.twilio.com')).toEqual({ host: 'api.twilio.com', product: 'api', canonical: 'api.twilio.com' });
    expect(parseTwilioHost('api.au1.twilio.com')?.canonical).toBe('api.twilio.com');
    expect(parseTwilioHost('verify.sydney.us1.twilio.com')).toEqual({ host: 'verify.sydney.us1.twilio.com', product: 'verify', canonical: 'verify.twilio.com' });
    expect(parseTwilioHost('FLEX-API.twilio.com')?.host).toBe('flex-api.twilio.com');
    for (const bad of ['twilio.com', 'api.twilio.com.evil.example', 'a.b.c.d.twilio.com', 'api.twilio.com:443', 'api.twilio.co', '-api.twilio.com']) {
      expect(parseTwilioHost(bad), bad).toBeUndefined();
    }
  });
});

describe('routing', () => {
  it('sends the real account SID upstream and shows the allowlist the placeholder, whichever the agent used', () => {
    for (const sid of [TWILIO_PLACEHOLDER_ACCOUNT_SID, REAL_SID, REAL_SID.toLowerCase()]) {
      const route = routed(request('POST', `/api.au1.twilio.com/2010-04-01/Accounts/${sid}/Messages.json`));
      expect(route.upstreamHost).toBe('api.au1.twilio.com');
      expect(route.path).toBe(`/2010-04-01/Accounts/${REAL_SID}/Messages.json`);
      expect(route.segments).toEqual(['api.twilio.com', '2010-04-01', 'Accounts', TWILIO_PLACEHOLDER_ACCOUNT_SID, 'Messages.json']);
    }
    expect(routed(request('GET', `/api.twilio.com/2010-04-01/Accounts/${TWILIO_PLACEHOLDER_ACCOUNT_SID}.json`)).path).toBe(`/2010-04-01/Accounts/${REAL_SID}.json`);
    expect(routed(request('GET', '/lookups.twilio.com/v2/PhoneNumbers/+14155550100')).path).toBe('/v2/PhoneNumbers/+14155550100');
  });

  it('refuses another account, a host that is not Twilio’s, and paths that need guessing', () => {
    expect(refusedRoute(request('GET', `/api.twilio.com/2010-04-01/Accounts/AC${'f'.repeat(32)}/Messages.json`)).code).toBe('keyleash_account_not_allowed');
    expect(refusedRoute(request('GET', `/api.twilio.com/2010-04-01/accounts/ac${'f'.repeat(32)}.json`)).code).toBe('keyleash_account_not_allowed');
    expect(refusedRoute(request('GET', '/example.com/2010-04-01/Accounts.json')).code).toBe('keyleash_ambiguous_request');
    expect(refusedRoute(request('GET', '/api.twilio.com')).code).toBe('keyleash_ambiguous_request');
    expect(refusedRoute(request('GET', `${messages}/`)).code).toBe('keyleash_ambiguous_request');
    expect(refusedRoute(request('GET', '/api.twilio.com/2010-04-01/Accounts%2Fx')).code).toBe('keyleash_ambiguous_request');
  });
});

describe('the vault key in HTTP Basic', () => {
  const vaultKey = generateVaultKey().vaultKey;
  const basic = (username: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` });

  it('reads vk_<id> and the secret back into the vault key', () => {
    const { username, password } = twilioBasicCredentials(vaultKey)!;
    expect(username).not.toContain(password);
    expect(vendor.presentedVaultKey(basic(username, password))).toBe(vaultKey);
  });

  it('never mistakes real Twilio credentials or a bearer token for a vault key, and answers a whole key in the username as "not a vault key"', () => {
    expect(vendor.presentedVaultKey(basic(REAL_SID, TOKEN))).toBeUndefined();
    expect(vendor.presentedVaultKey({ authorization: `Bearer ${vaultKey}` })).toBeUndefined();
    expect(vendor.presentedVaultKey({})).toBeUndefined();
    const whole = vendor.presentedVaultKey(basic(vaultKey, 'x'));
    expect(whole?.startsWith('vk_')).toBe(true);
    expect(whole).not.toBe(vaultKey);
  });

  it('forwards the real credentials (the API key when configured) and nothing of keyleash’s', () => {
    const inbound = request('POST', messages, '', '', { authorization: 'Basic xyz', 'keyleash-agent': 'a', 'accept-encoding': 'gzip', 'i-twilio-idempotency-token': 't' });
    const headers = vendor.upstreamHeaders(inbound, secrets);
    expect(headers.authorization).toBe(`Basic ${Buffer.from(`${REAL_SID}:${TOKEN}`).toString('base64')}`);
    expect(headers['keyleash-agent']).toBeUndefined();
    expect(headers['accept-encoding']).toBeUndefined();
    expect(headers['i-twilio-idempotency-token']).toBe('t');
    const withKey = vendor.upstreamHeaders(inbound, { TWILIO_ACCOUNT_SID: REAL_SID, TWILIO_API_KEY_SID: `SK${'2'.repeat(32)}`, TWILIO_API_KEY_SECRET: 'key-secret' });
    expect(withKey.authorization).toBe(`Basic ${Buffer.from(`SK${'2'.repeat(32)}:key-secret`).toString('base64')}`);
  });

  it('is configured by the account SID plus the auth token or an API key pair, and by nothing less', () => {
    expect(vendor.readSecrets({ TWILIO_ACCOUNT_SID: REAL_SID, TWILIO_AUTH_TOKEN: TOKEN })).toEqual(secrets);
    expect(vendor.readSecrets({ TWILIO_ACCOUNT_SID: REAL_SID, TWILIO_AUTH_TOKEN: TOKEN, TWILIO_API_KEY_SID: 'SKx', TWILIO_API_KEY_SECRET: 's' })).toEqual({
      TWILIO_ACCOUNT_SID: REAL_SID,
      TWILIO_API_KEY_SID: 'SKx',
      TWILIO_API_KEY_SECRET: 's',
    });
    expect(vendor.readSecrets({ TWILIO_AUTH_TOKEN: TOKEN })).toBeUndefined();
    expect(vendor.readSecrets({ TWILIO_ACCOUNT_SID: REAL_SID })).toBeUndefined();
    expect(vendor.readSecrets({ TWILIO_ACCOUNT_SID: REAL_SID, TWILIO_API_KEY_SID: 'SKx' })).toBeUndefined();
    expect(vendor.readSecrets({ TWILIO_ACCOUNT_SID: 'not-a-sid', TWILIO_AUTH_TOKEN: TOKEN })).toBeUndefined();
  });
});

describe('what a request costs', () => {
  it('prices SMS by segments and country, MMS per message, MessagingServiceSid sends alike', async () => {
    expect(await price(request('POST', messages, form({ To: '+14155550100', From: '+14155550199', Body: 'hi' })))).toMatchObject({ kind: 'priced', micros: 8_300 });
    expect(await price(request('POST', messages, form({ To: '+447700900123', MessagingServiceSid: `MG${'1'.repeat(32)}`, Body: '👍'.repeat(36) })))).toMatchObject({
      kind: 'priced',
      micros: 2 * 52_400,
      label: expect.stringContaining('2 UCS-2 segments'),
    });
    expect(await price(request('POST', messages, form({ To: '+14155550100', From: '+1', MediaUrl: ['https://a/1', 'https://a/2'] })))).toMatchObject({ kind: 'priced', micros: 22_000 });
    expect(await price(request('POST', messages, form({ To: '+14155550100', From: '+1', Body: 'x', SendAsMms: 'true' })))).toMatchObject({ kind: 'priced', micros: 22_000 });
  });

  it('treats what it cannot price as unpriced: no country price, a channel prefix, a Content template', async () => {
    expect(await price(request('POST', messages, form({ To: '+992123456789', From: '+1', Body: 'x' })))).toMatchObject({ kind: 'unpriced' });
    expect(await price(request('POST', messages, form({ To: '+447700900123', From: '+1', MediaUrl: 'https://a/1' })))).toMatchObject({ kind: 'unpriced', label: expect.stringContaining('no MMS price for GB') });
    expect(await price(request('POST', messages, form({ To: 'whatsapp:+14155550100', From: 'whatsapp:+1', Body: 'x' })))).toMatchObject({ kind: 'unpriced' });
    expect(await price(request('POST', messages, form({ To: '+14155550100', From: '+1', ContentSid: `HX${'1'.repeat(32)}` })))).toMatchObject({ kind: 'unpriced' });
    // with the key's fallback prices
    const fallbacks = { defaultCallTimeLimitSeconds: null, fallbackSmsMicrosPerSegment: 70_000, fallbackMmsMicrosPerMessage: 90_000, fallbackVoiceMicrosPerMinute: 300_000 };
    expect(await price(request('POST', messages, form({ To: '+992123456789', From: '+1', Body: 'x' })), fallbacks)).toMatchObject({ kind: 'priced', micros: 70_000 });
    expect(await price(request('POST', messages, form({ To: '+447700900123', From: '+1', MediaUrl: 'https://a/1' })), fallbacks)).toMatchObject({ kind: 'priced', micros: 90_000 });
  });

  it('refuses what Twilio might read differently: repeated To/Body/From/TimeLimit, a non-E.164 To, the query string, another body type', async () => {
    const ambiguous = { kind: 'refused', refusal: { code: 'keyleash_ambiguous_request' } };
    expect(await price(request('POST', messages, form({ To: ['+14155550100', '+447700900123'], From: '+1', Body: 'x' })))).toMatchObject(ambiguous);
    expect(await price(request('POST', messages, form({ To: '+14155550100', From: '+1', Body: ['a', 'b'] })))).toMatchObject(ambiguous);
    expect(await price(request('POST', messages, form({ To: '+14155550100', From: ['+1', '+2'], Body: 'x' })))).toMatchObject(ambiguous);
    expect(await price(request('POST', messages, form({ To: '004477009', From: '+1', Body: 'x' })))).toMatchObject(ambiguous);
    expect(await price(request('POST', messages, form({ From: '+1', Body: 'x' })))).toMatchObject(ambiguous);
    expect(await price(request('POST', messages, form({ To: '+14155550100', From: '+1', Body: 'x' }), 'Body=y'))).toMatchObject(ambiguous);
    expect(await price(request('POST', calls, form({ To: '+14155550100', From: '+1', TimeLimit: ['60', '14400'] })))).toMatchObject(ambiguous);
    expect(await price(request('POST', calls, form({ To: '+14155550100', From: '+1', TimeLimit: '1e3' })))).toMatchObject(ambiguous);
    expect(await price(request('POST', messages, 'To=%2B14155550100&Body=hi;To=%2B447700900123&From=%2B1'))).toMatchObject(ambiguous);
    const json = { ...request('POST', messages, '{"To":"+14155550100"}'), headers: { 'content-type': 'application/json' } };
    expect(await price(json)).toMatchObject(ambiguous);
  });

  it('prices a call by TimeLimit, adds the policy’s default TimeLimit to the forwarded body, and leaves a call without either unpriced', async () => {
    // TwiML from Url may <Dial> a second leg: the To leg plus one leg at the table's dearest voice price (JM $0.28/min)
    expect(await price(request('POST', calls, form({ To: '+14155550100', From: '+1', Url: 'https://x', TimeLimit: '61' })))).toMatchObject({ kind: 'priced', micros: 2 * (14_000 + 280_000) });
    expect(await price(request('POST', calls, form({ To: '+14155550100', From: '+1', Twiml: '<Response><Say>hi</Say></Response>', TimeLimit: '61' })))).toMatchObject({ kind: 'priced', micros: 2 * 14_000 });
    expect(await price(request('POST', calls, form({ To: '+14155550100', From: '+1', Url: 'https://x' })))).toMatchObject({ kind: 'unpriced', label: expect.stringContaining('TimeLimit') });
    const bounded = await price(request('POST', calls, form({ To: '+14155550100', From: '+1', Url: 'https://x' })), {
      defaultCallTimeLimitSeconds: 300,
      fallbackSmsMicrosPerSegment: null,
      fallbackMmsMicrosPerMessage: null,
      fallbackVoiceMicrosPerMinute: null,
    });
    expect(bounded).toMatchObject({ kind: 'priced', micros: 5 * (14_000 + 280_000) });
    if (bounded.kind !== 'priced') throw new Error('unreachable');
    expect(new URLSearchParams(bounded.upstreamBody!.toString()).get('TimeLimit')).toBe('300');
    expect(await price(request('POST', calls, form({ To: 'client:alice', From: '+1', Url: 'https://x', TimeLimit: '60' })))).toMatchObject({ kind: 'unpriced' });
  });

  it('knows free reads and management calls, paid lookups, credential-minting endpoints, and calls everything else unpriced', async () => {
    const account = `/api.twilio.com/2010-04-01/Accounts/${TWILIO_PLACEHOLDER_ACCOUNT_SID}`;
    expect(await price(request('GET', `${account}/Messages.json`))).toMatchObject({ kind: 'free' });
    expect(await price(request('DELETE', `${account}/Messages/SM${'1'.repeat(32)}.json`))).toMatchObject({ kind: 'free' });
    expect(await price(request('POST', `${account}/Calls/CA${'1'.repeat(32)}.json`, 'Status=completed'))).toMatchObject({ kind: 'free' });
    expect(await price(request('POST', '/verify.twilio.com/v2/Services/VAx/VerificationCheck', 'To=%2B1&Code=1'))).toMatchObject({ kind: 'free' });
    expect(await price(request('GET', '/lookups.twilio.com/v2/PhoneNumbers/+14155550100'))).toMatchObject({ kind: 'free' });
    expect(await price(request('GET', '/lookups.twilio.com/v2/PhoneNumbers/+14155550100', '', 'Fields=caller_name'))).toMatchObject({ kind: 'unpriced' });
    expect(await price(request('GET', '/lookups.twilio.com/v1/PhoneNumbers/+14155550100', '', 'Type=carrier'))).toMatchObject({ kind: 'unpriced' });
    expect(await price(request('POST', `${account}/IncomingPhoneNumbers.json`, 'PhoneNumber=%2B1'))).toMatchObject({ kind: 'unpriced' });
    expect(await price(request('POST', '/conversations.twilio.com/v1/Conversations', 'FriendlyName=x'))).toMatchObject({ kind: 'unpriced' });
    for (const path of [`${account}/Keys.json`, `${account}/SigningKeys.json`, '/api.twilio.com/2010-04-01/Accounts.json', '/iam.twilio.com/v1/Keys', '/accounts.twilio.com/v1/AuthTokens/Secondary']) {
      expect(await price(request('POST', path, 'FriendlyName=x')), path).toMatchObject({ kind: 'refused', refusal: { code: 'keyleash_endpoint_not_allowed' } });
    }
  });

  it('prices a verification by its channel', async () => {
    const verifications = '/verify.twilio.com/v2/Services/VAx/Verifications';
    expect(await price(request('POST', verifications, form({ To: '+14155550100', Channel: 'sms' })))).toMatchObject({ kind: 'priced', micros: 50_000 + 8_300 });
    expect(await price(request('POST', verifications, form({ To: '+14155550100', Channel: 'call' })))).toMatchObject({ kind: 'priced', micros: 50_000 + 14_000 });
    expect(await price(request('POST', verifications, form({ To: 'a@b.c', Channel: 'email' })))).toMatchObject({ kind: 'priced', micros: 50_000 });
    expect(await price(request('POST', verifications, form({ To: '+14155550100', Channel: 'whatsapp' })))).toMatchObject({ kind: 'unpriced' });
    expect(await price(request('POST', verifications, form({ To: '+14155550100' })))).toMatchObject({ kind: 'refused' });
  });
});

describe('settlement from Twilio’s answers', () => {
  it('reads a USD price of either sign and ignores a null price or another currency', () => {
    expect(priceFromAnswer({ price: '-0.00750', price_unit: 'USD' })).toBe(7_500);
    expect(priceFromAnswer({ price: '0.0079', price_unit: 'usd' })).toBe(7_900);
    expect(priceFromAnswer({ price: -0.03, price_unit: 'USD' })).toBe(30_000);
    expect(priceFromAnswer({ price: null, price_unit: 'USD' })).toBeUndefined();
    expect(priceFromAnswer({ price: '-0.05', price_unit: 'EUR' })).toBeUndefined();
    expect(priceFromAnswer({ price: 'free', price_unit: 'USD' })).toBeUndefined();
  });

  it('keeps the estimate on price null, remembers the SID, and lets a status fetch reveal the price of that SID', async () => {
    const sent = await price(request('POST', messages, form({ To: '+14155550100', From: '+1', Body: 'x' })));
    if (sent.kind !== 'priced' || !sent.settle) throw new Error('expected a priced message with a settlement');
    const sid = `SM${'a'.repeat(32)}`;
    expect(sent.settle({ status: 201, headers: {}, json: { sid, price: null, price_unit: null } })).toEqual({ micros: 8_300, paidObjectIds: [sid] });
    expect(sent.settle({ status: 201, headers: {}, json: { sid, price: '-0.0079', price_unit: 'USD' } })).toEqual({ micros: 7_900, paidObjectIds: [sid] });

    const fetched = await price(request('GET', `/api.twilio.com/2010-04-01/Accounts/${TWILIO_PLACEHOLDER_ACCOUNT_SID}/Messages/${sid}.json`));
    if (fetched.kind !== 'free' || !fetched.revealsPrice) throw new Error('expected a free fetch that reveals a price');
    expect(fetched.revealsPrice({ status: 200, headers: {}, json: { sid, price: '-0.0079', price_unit: 'USD' } })).toEqual({ objectId: sid, micros: 7_900 });
    expect(fetched.revealsPrice({ status: 200, headers: {}, json: { sid, price: null } })).toBeUndefined();
  });
});

describe('answers and idempotency', () => {
  it('shows the placeholder for the real account SID and redacts every auth token and secret in text answers', () => {
    const body = JSON.stringify({ account_sid: REAL_SID, uri: `/2010-04-01/Accounts/${REAL_SID.toLowerCase()}/Messages.json`, auth_token: 'subaccount-token', note: `token ${TOKEN}` });
    const shown = vendor.rewriteResponseBody!(Buffer.from(body), { 'content-type': 'application/json; charset=utf-8' }, secrets).toString();
    expect(shown).not.toContain(REAL_SID);
    expect(shown).not.toContain(REAL_SID.toLowerCase());
    expect(shown).not.toContain(TOKEN);
    expect(shown).not.toContain('subaccount-token');
    expect(JSON.parse(shown)).toMatchObject({ account_sid: TWILIO_PLACEHOLDER_ACCOUNT_SID, auth_token: '[redacted by keyleash]' });
    const xml = vendor.rewriteResponseBody!(Buffer.from(`<Account><Sid>${REAL_SID}</Sid><AuthToken>${TOKEN}</AuthToken></Account>`), { 'content-type': 'application/xml' }, secrets).toString();
    expect(xml).toBe(`<Account><Sid>${TWILIO_PLACEHOLDER_ACCOUNT_SID}</Sid><AuthToken>[redacted by keyleash]</AuthToken></Account>`);
    const binary = Buffer.from([0xff, 0xd8, 0xff]);
    expect(vendor.rewriteResponseBody!(binary, { 'content-type': 'image/jpeg' }, secrets)).toBe(binary);
  });

  it('binds I-Twilio-Idempotency-Token to the request it came with', () => {
    const one = request('POST', messages, 'To=%2B1&Body=a', '', { 'i-twilio-idempotency-token': 'tok' });
    const same = request('POST', messages, 'To=%2B1&Body=a', '', { 'i-twilio-idempotency-token': 'tok' });
    const other = request('POST', messages, 'To=%2B1&Body=b', '', { 'i-twilio-idempotency-token': 'tok' });
    expect(vendor.idempotencyKey(one)).toMatch(/^tok#[0-9a-f]{16}$/);
    expect(vendor.idempotencyKey(same)).toBe(vendor.idempotencyKey(one));
    expect(vendor.idempotencyKey(other)).not.toBe(vendor.idempotencyKey(one));
    expect(vendor.idempotencyKey(request('POST', messages, 'x'))).toBeUndefined();
  });

  it('renders a refusal in Twilio’s error shape with the keyleash code and a status twilio-node raises on', () => {
    const rendered = vendor.renderRefusal({ code: 'keyleash_daily_cap_reached', message: 'Refused: spend cap reached.', details: { cap_usd: 1 } });
    expect(rendered.status).toBe(403);
    expect(JSON.parse(rendered.body)).toEqual({ code: 'keyleash_daily_cap_reached', message: 'Refused: spend cap reached.', more_info: expect.any(String), status: 403, details: { cap_usd: 1 } });
    expect(vendor.renderRefusal({ code: 'keyleash_unknown_key', message: 'x' }).status).toBe(401);
    expect(vendor.renderRefusal({ code: 'keyleash_rate_limited', message: 'x' }).status).toBe(429);
    expect(vendor.renderRefusal({ code: 'keyleash_ambiguous_request', message: 'x' }).status).toBe(400);
    expect(vendor.renderRefusal({ code: 'keyleash_store_unavailable', message: 'x' }).status).toBe(503);
  });
});
