/**
 * Twilio requests that could be read or executed differently from how keyleash reads them, and
 * the account itself, through twilio-node and a real keyleash: nothing refused reaches Twilio.
 */
import { describe, expect, it } from 'vitest';
import { TWILIO_PLACEHOLDER_ACCOUNT_SID } from '../../packages/core/src/index.ts';
import { basic, client, form, FROM, issueTwilioKey, raw, restException, US, useTwilioStack } from './harness.ts';

const stack = useTwilioStack();
const MESSAGES = `https://api.twilio.com/2010-04-01/Accounts/${TWILIO_PLACEHOLDER_ACCOUNT_SID}/Messages.json`;

describe('the account itself', () => {
  it.each(['closed', 'suspended'] as const)('UpdateAccount with Status=%s is refused even for an uncapped key whose policy marks everything free', async (status) => {
    const key = await issueTwilioKey(stack, { daily_usd_cap: null, unpriced: { '* /api.twilio.com/**': 'free' } });
    const error = await restException(client(stack, key.vault_key).api.v2010.accounts(TWILIO_PLACEHOLDER_ACCOUNT_SID).update({ status }));
    expect(error).toMatchObject({ status: 403, code: 'keyleash_endpoint_not_allowed' });
    expect(error.message).toContain('can suspend or close the whole Twilio account');
    expect(error.message).toContain('Do not retry');
    expect(stack.recorder.requests).toEqual([]);
  });
});

describe('requests Twilio could read another way', () => {
  async function send(vaultKey: string, headers: Record<string, string>, data: Record<string, string> = { To: US, From: FROM, Body: 'hi' }) {
    return client(stack, vaultKey).request({ method: 'post', uri: MESSAGES, data, headers });
  }

  it('the control: the same request through twilio-node’s request() reaches Twilio', async () => {
    const key = await issueTwilioKey(stack);
    const answer = await send(key.vault_key, {});
    expect(answer.statusCode).toBe(201);
    expect(stack.recorder.requests).toHaveLength(1);
  });

  it.each(['X-HTTP-Method-Override', 'X-HTTP-Method', 'X-Method-Override'])('%s is refused with 400', async (header) => {
    const key = await issueTwilioKey(stack);
    const answer = await send(key.vault_key, { [header]: 'DELETE' });
    expect(answer.statusCode).toBe(400);
    const body = typeof answer.body === 'string' ? JSON.parse(answer.body) : answer.body;
    expect(body).toMatchObject({ code: 'keyleash_request_override' });
    expect(body.message.toLowerCase()).toContain(header.toLowerCase());
    expect(body.message).toContain('Nothing was sent to twilio');
    expect(stack.recorder.requests).toEqual([]);
  });

  it('a _method parameter is refused with 400', async () => {
    const key = await issueTwilioKey(stack);
    const answer = await send(key.vault_key, {}, { To: US, From: FROM, Body: 'hi', _method: 'DELETE' });
    expect(answer.statusCode).toBe(400);
    expect(JSON.stringify(answer.body)).toContain('keyleash_request_override');
    expect(stack.recorder.requests).toEqual([]);
  });

  it('a compressed body is refused with 415', async () => {
    const key = await issueTwilioKey(stack);
    const answer = await send(key.vault_key, { 'Content-Encoding': 'gzip' });
    expect(answer.statusCode).toBe(415);
    const body = typeof answer.body === 'string' ? JSON.parse(answer.body) : answer.body;
    expect(body).toMatchObject({ code: 'keyleash_encoded_body' });
    expect(body.message).toContain('Send the body uncompressed');
    expect(stack.recorder.requests).toEqual([]);
  });

  it('a form in another charset is refused as ambiguous (raw HTTP: twilio-node always sends UTF-8)', async () => {
    const key = await issueTwilioKey(stack);
    const answer = await raw(stack.keyleash.url, {
      method: 'POST',
      path: `/twilio/api.twilio.com/2010-04-01/Accounts/${TWILIO_PLACEHOLDER_ACCOUNT_SID}/Messages.json`,
      headers: { authorization: basic(key.vault_key), 'content-type': 'application/x-www-form-urlencoded; charset=iso-8859-1' },
      body: form([['To', US], ['From', FROM], ['Body', 'hi']]),
    });
    expect(answer.status).toBe(400);
    expect(answer.text).toContain('charset=iso-8859-1');
    expect(stack.recorder.requests).toEqual([]);
  });
});
