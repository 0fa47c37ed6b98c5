/**
 * twilioFor against a local logging server standing in for keyleash: where twilio-node's requests
 * land, with which credentials and headers. (The full path through keyleash is in test/twilio/.)
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import twilio from 'twilio';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateVaultKey } from '@keyleash/core';
import { KeyleashTwilioRequestClient, TWILIO_PLACEHOLDER_ACCOUNT_SID, twilioFor } from '@keyleash/client';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

let server: Server;
let proxyUrl: string;
const seen: Seen[] = [];
/** the next answers, by path prefix; default: an empty page (also fine as a created object) */
const answers: { prefix: string; body: unknown }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString() });
      const index = answers.findIndex((answer) => req.url!.startsWith(answer.prefix));
      const body = index === -1 ? { records: [], next_page_uri: null } : answers.splice(index, 1)[0]!.body;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => {
  seen.length = 0;
  answers.length = 0;
});

const { vaultKey, id, secret } = generateVaultKey();

describe('twilioFor', () => {
  it('returns the official client, presenting the vault key as Basic vk_<id> / <secret> with the placeholder account SID', async () => {
    const client = twilioFor({ vaultKey, proxyUrl });
    expect(client).toBeInstanceOf(twilio.Twilio);
    expect(client.accountSid).toBe(TWILIO_PLACEHOLDER_ACCOUNT_SID);
    await client.messages.create({ to: '+14155550100', from: '+14155550199', body: 'hi', mediaUrl: ['https://a.example/1.png', 'https://a.example/2.png'] });
    const [request] = seen;
    expect(request!.method).toBe('POST');
    expect(request!.url).toBe(`/twilio/api.twilio.com/2010-04-01/Accounts/${TWILIO_PLACEHOLDER_ACCOUNT_SID}/Messages.json`);
    expect(request!.headers.authorization).toBe(`Basic ${Buffer.from(`vk_${id}:${secret}`).toString('base64')}`);
    expect(new URLSearchParams(request!.body).getAll('MediaUrl')).toHaveLength(2);
  });

  it('sends every product host, and the hosts region and edge produce, through the proxy', async () => {
    await twilioFor({ vaultKey, proxyUrl }).verify.v2.services(`VA${'a'.repeat(32)}`).verifications.create({ to: '+14155550100', channel: 'sms' });
    await twilioFor({ vaultKey, proxyUrl }).lookups.v2.phoneNumbers('+14155550100').fetch({ fields: 'validation' });
    await twilioFor({ vaultKey, proxyUrl, twilio: { region: 'au1' } }).messages.list({ limit: 1 });
    await twilioFor({ vaultKey, proxyUrl, twilio: { edge: 'sydney' } }).calls.list({ limit: 1 });
    expect(seen.map((request) => request.url)).toEqual([
      `/twilio/verify.twilio.com/v2/Services/VA${'a'.repeat(32)}/Verifications`,
      '/twilio/lookups.twilio.com/v2/PhoneNumbers/+14155550100?Fields=validation',
      `/twilio/api.au1.twilio.com/2010-04-01/Accounts/${TWILIO_PLACEHOLDER_ACCOUNT_SID}/Messages.json?PageSize=1`,
      `/twilio/api.sydney.us1.twilio.com/2010-04-01/Accounts/${TWILIO_PLACEHOLDER_ACCOUNT_SID}/Calls.json?PageSize=1`,
    ]);
  });

  it('follows absolute next-page URLs through the proxy too', async () => {
    answers.push({
      prefix: '/twilio/messaging.twilio.com/v1/Services',
      body: { services: [{ sid: `MG${'1'.repeat(32)}` }], meta: { next_page_url: 'https://messaging.twilio.com/v1/Services?PageSize=1&Page=1&PageToken=PT1', key: 'services', page_size: 1 } },
    });
    answers.push({ prefix: '/twilio/messaging.twilio.com/v1/Services', body: { services: [{ sid: `MG${'2'.repeat(32)}` }], meta: { next_page_url: null, key: 'services', page_size: 1 } } });
    const services = await twilioFor({ vaultKey, proxyUrl }).messaging.v1.services.list({ pageSize: 1 });
    expect(services.map((service) => service.sid)).toEqual([`MG${'1'.repeat(32)}`, `MG${'2'.repeat(32)}`]);
    expect(seen.map((request) => request.url)).toEqual(['/twilio/messaging.twilio.com/v1/Services?PageSize=1', '/twilio/messaging.twilio.com/v1/Services?PageSize=1&Page=1&PageToken=PT1']);
  });

  it('adds attribution headers, read at every request', async () => {
    let call = 'call_1';
    const client = twilioFor({ vaultKey, proxyUrl, attribution: () => ({ agent: 'notifier', runId: 'r-1', tool: 'send_sms', toolCallId: call }) });
    await client.messages.list({ limit: 1 });
    call = 'call_2';
    await client.messages.list({ limit: 1 });
    expect(seen.map((request) => [request.headers['keyleash-agent'], request.headers['keyleash-run-id'], request.headers['keyleash-tool'], request.headers['keyleash-tool-call-id']])).toEqual([
      ['notifier', 'r-1', 'send_sms', 'call_1'],
      ['notifier', 'r-1', 'send_sms', 'call_2'],
    ]);
  });

  it('never sends the vault key anywhere but the proxy, and never accepts a real Twilio credential', () => {
    const httpClient = new KeyleashTwilioRequestClient(`${proxyUrl}/`);
    expect(httpClient.proxiedUri('https://api.twilio.com/2010-04-01/Accounts.json?x=1')).toBe(`${proxyUrl}/twilio/api.twilio.com/2010-04-01/Accounts.json?x=1`);
    expect(() => httpClient.proxiedUri('https://evil.example.com/steal')).toThrow(/refusing to send a vault key/);
    expect(() => httpClient.proxiedUri('https://api.twilio.com.evil.example/x')).toThrow(/refusing/);
    expect(() => httpClient.proxiedUri('http://api.twilio.com/x')).toThrow(/refusing/);
    expect(() => twilioFor({ vaultKey: `AC${'1'.repeat(32)}`, proxyUrl })).toThrow(/vault key/);
  });
});
