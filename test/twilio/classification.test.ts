/**
 * The Twilio operations table as an agent meets it, through twilio-node and a real keyleash in
 * front of Prism: updates that can create cost (redirecting a live call, buying a number) are
 * refused under a capped key unless the key's policy prices them, credential-minting calls are
 * refused whatever the policy, the free form of the same update goes through; and the input
 * limits (body size, one credential) hold on Twilio's hosts too. Nothing refused reaches Twilio.
 */
import { describe, expect, it } from 'vitest';
import { TWILIO_PLACEHOLDER_ACCOUNT_SID } from '../../packages/core/src/index.ts';
import { chunkedEncoding, chunksOf, exchange, requestHead } from '../support/raw-socket.ts';
import { auditOf, basic, client, FROM, issueTwilioKey, restException, spendMicros, US, useTwilioStack } from './harness.ts';

const stack = useTwilioStack({ products: ['api', 'verify'] });
const CALL = `CA${'c'.repeat(32)}`;
const MIB = 1024 * 1024;

describe('a live call may be hung up for free, but not redirected under a capped key', () => {
  it.each([
    ['a new Url', { url: 'https://attacker.example/dial-premium.xml' }, 'Url'],
    ['inline Twiml that dials out', { twiml: '<Response><Dial>+19005550100</Dial></Response>' }, 'Twiml'],
    ['a new Method for its Url', { method: 'GET' }, 'Method'],
    ['a longer TimeLimit than was priced', { timeLimit: 14_400 }, 'TimeLimit'],
  ] as const)('refuses %s, naming the parameter and the policy that would allow it', async (_, params, name) => {
    const key = await issueTwilioKey(stack);
    const error = await restException(client(stack, key.vault_key).calls(CALL).update(params as Record<string, unknown>));
    expect(error).toMatchObject({ status: 403, code: 'keyleash_unpriced_endpoint' });
    expect(error.message).toContain(`with ${name}`);
    expect(error.message).toMatch(/runs new TwiML that can dial out/);
    expect(error.message).toMatch(/adding it to the key's "unpriced" policy/);
    expect(stack.recorder.requests).toEqual([]);
    expect(await auditOf(stack, key.id)).toMatchObject([{ decision: 'refused', reason: 'keyleash_unpriced_endpoint' }]);
  });

  it('hangs up a call (Status only) for free', async () => {
    const key = await issueTwilioKey(stack);
    await client(stack, key.vault_key).calls(CALL).update({ status: 'completed' });
    expect(stack.recorder.requests.map((request) => request.path)).toEqual([`/2010-04-01/Accounts/${stack.accountSid}/Calls/${CALL}.json`]);
    expect(await spendMicros(stack, key.id)).toBe(0);
  });

  it('redirects a call when the key’s policy prices the update, and counts that price', async () => {
    const key = await issueTwilioKey(stack, { unpriced: { 'POST /api.twilio.com/2010-04-01/Accounts/*/Calls/*': 0.5 } });
    await client(stack, key.vault_key).calls(CALL).update({ url: 'https://example.com/next.xml' });
    expect(stack.recorder.requests).toHaveLength(1);
    expect(await spendMicros(stack, key.id)).toBe(500_000);
  });
});

describe('operations that cost or mint credentials', () => {
  it('refuses buying a phone number under a capped key (a monthly fee keyleash cannot count)', async () => {
    const key = await issueTwilioKey(stack);
    const error = await restException(client(stack, key.vault_key).incomingPhoneNumbers.create({ phoneNumber: '+14155550111' }));
    expect(error).toMatchObject({ status: 403, code: 'keyleash_unpriced_endpoint' });
    expect(error.message).toMatch(/buys a phone number: a monthly fee/);
    expect(stack.recorder.requests).toEqual([]);
  });

  it('refuses pointing a number’s voice webhook elsewhere (new TwiML answers its calls), but renames it for free', async () => {
    const key = await issueTwilioKey(stack);
    const number = `PN${'d'.repeat(32)}`;
    const error = await restException(client(stack, key.vault_key).incomingPhoneNumbers(number).update({ voiceUrl: 'https://attacker.example/forward.xml' }));
    expect(error).toMatchObject({ status: 403, code: 'keyleash_unpriced_endpoint' });
    expect(error.message).toContain('with VoiceUrl');
    expect(stack.recorder.requests).toEqual([]);
    await client(stack, key.vault_key).incomingPhoneNumbers(number).update({ friendlyName: 'support line' });
    expect(stack.recorder.requests).toHaveLength(1);
  });

  it('refuses minting a SIP password even under an uncapped key whose policy marks everything free', async () => {
    const key = await issueTwilioKey(stack, { daily_usd_cap: null, unpriced: { '* /api.twilio.com/**': 'free' } });
    const error = await restException(client(stack, key.vault_key).sip.credentialLists(`CL${'e'.repeat(32)}`).credentials.create({ username: 'agent', password: 'Passw0rd-Passw0rd' }));
    expect(error).toMatchObject({ status: 403, code: 'keyleash_endpoint_not_allowed' });
    expect(error.message).toMatch(/mints a SIP username and password/);
    expect(stack.recorder.requests).toEqual([]);
  });
});

describe('input limits on Twilio hosts', () => {
  const messages = `/twilio/api.twilio.com/2010-04-01/Accounts/${TWILIO_PLACEHOLDER_ACCOUNT_SID}/Messages.json`;

  it('twilio-node gets a RestException 413 for a message body over 1 MiB; nothing reaches Twilio', async () => {
    const key = await issueTwilioKey(stack);
    const error = await restException(client(stack, key.vault_key).messages.create({ to: US, from: FROM, body: 'x'.repeat(2 * MIB) }));
    expect(error).toMatchObject({ status: 413, code: 'keyleash_body_too_large' });
    expect(error.message).toContain('at most 1 MiB (1048576 bytes) for api.twilio.com');
    expect(error.message).toContain('--max-body api.twilio.com=<size>');
    expect(stack.recorder.requests).toEqual([]);
  });

  it('a chunked body to verify.twilio.com is cut off past 1 MiB', async () => {
    const key = await issueTwilioKey(stack, { allowed_endpoints: ['* /verify.twilio.com/**'] });
    const answer = await exchange(
      stack.keyleash.url,
      requestHead('POST', `/twilio/verify.twilio.com/v2/Services/VA${'a'.repeat(32)}/Verifications`, [
        ['Host', 'localhost'],
        ['Authorization', basic(key.vault_key)],
        ['Content-Type', 'application/x-www-form-urlencoded'],
        ['Transfer-Encoding', 'chunked'],
      ]),
      // 64 MiB offered: what the client writes before the answer includes what the loopback socket
      // buffers absorb unread (4.2 MiB was seen), so the bound means "stopped reading far before the end"
      chunkedEncoding(chunksOf(1024, 64 * 1024)),
    );
    expect(answer.status).toBe(413);
    expect(answer.json).toMatchObject({ code: 'keyleash_body_too_large', status: 400 });
    expect(answer.bodyBytesSent).toBeLessThan(16 * MIB);
    expect(stack.recorder.requests).toEqual([]);
  });

  it('two Basic credentials are refused with 400, whichever comes first', async () => {
    const first = await issueTwilioKey(stack);
    const second = await issueTwilioKey(stack);
    const body = 'To=%2B14155550100&From=%2B14155550199&Body=hi';
    const answer = await exchange(
      stack.keyleash.url,
      requestHead('POST', messages, [
        ['Host', 'localhost'],
        ['Authorization', basic(first.vault_key)],
        ['Authorization', basic(second.vault_key)],
        ['Content-Type', 'application/x-www-form-urlencoded'],
        ['Content-Length', String(body.length)],
      ]),
      [Buffer.from(body)],
    );
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({ code: 'keyleash_conflicting_credentials', status: 400 });
    expect(answer.json.message).toMatch(/2 Authorization headers \(Basic, Basic\).*send exactly one/);
    expect(stack.recorder.requests).toEqual([]);
  });
});
