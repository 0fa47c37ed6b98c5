import { describe, expect, it } from 'vitest';
import { TWILIO_PLACEHOLDER_ACCOUNT_SID } from '../../packages/core/src/index.ts';
import { auditOf, client, FROM, GB, issueTwilioKey, PRICE, restException, spendMicros, UNKNOWN_COUNTRY, US, useTwilioStack } from './harness.ts';

// this stack holds a Twilio API key (TWILIO_API_KEY_SID + TWILIO_API_KEY_SECRET) instead of the auth token
const stack = useTwilioStack({ products: ['api', 'verify'], auth: 'api_key' });

const VERIFY_SERVICE = `VA${'a'.repeat(32)}`;
const twiml = 'https://example.com/twiml';

/** the built-in table's dearest voice price (JM), what a leg dialed from the call's TwiML is counted at */
const DEAREST_VOICE_PER_MINUTE = 280_000;
const SAY_ONLY = '<Response><Say>Your order has shipped.</Say><Hangup/></Response>';

describe('calls', () => {
  it('prices a call whose TwiML keyleash can read and that dials nothing at the per-minute price times its TimeLimit, and settles at the price Twilio answers with', async () => {
    const key = await issueTwilioKey(stack);
    const call = await client(stack, key.vault_key).calls.create({ to: US, from: FROM, twiml: SAY_ONLY, timeLimit: 590 });
    expect(call.accountSid).toBe(TWILIO_PLACEHOLDER_ACCOUNT_SID);
    const [sent] = stack.recorder.requests;
    expect(sent!.username).toMatch(/^SK/); // the API key, not the account SID
    expect(sent!.path).toBe(`/2010-04-01/Accounts/${stack.accountSid}/Calls.json`);
    expect(stack.recorder.violations).toEqual([]);
    // 590 s -> 10 started minutes at $0.014; Prism's example call answers price -0.03000
    expect((await auditOf(stack, key.id))[0]).toMatchObject({ status: 201, reserved_micros: 10 * PRICE.voiceUSPerMinute, settled_micros: 30_000 });
    expect(await spendMicros(stack, key.id)).toBe(30_000);
  });

  it('counts a call whose TwiML may <Dial> a second leg (from Url, or inline) as the To leg plus one leg at the dearest voice price, kept even when a fetch shows the parent’s price', async () => {
    const key = await issueTwilioKey(stack);
    const twilio = client(stack, key.vault_key);
    const fromUrl = await twilio.calls.create({ to: US, from: FROM, url: twiml, timeLimit: 590 });
    await twilio.calls.create({ to: US, from: FROM, twiml: '<Response><Dial><Number>+23276123456</Number></Dial></Response>', timeLimit: 60 });
    const twoLegs = 10 * (PRICE.voiceUSPerMinute + DEAREST_VOICE_PER_MINUTE) + (PRICE.voiceUSPerMinute + DEAREST_VOICE_PER_MINUTE);
    expect((await auditOf(stack, key.id)).map((row) => [row.reserved_micros, row.settled_micros])).toEqual([
      [10 * (PRICE.voiceUSPerMinute + DEAREST_VOICE_PER_MINUTE), 10 * (PRICE.voiceUSPerMinute + DEAREST_VOICE_PER_MINUTE)],
      [PRICE.voiceUSPerMinute + DEAREST_VOICE_PER_MINUTE, PRICE.voiceUSPerMinute + DEAREST_VOICE_PER_MINUTE],
    ]);
    // the parent call's own price (Prism: $0.200) leaves out its dialed legs: the count stays
    await twilio.calls(fromUrl.sid).fetch();
    expect(await spendMicros(stack, key.id)).toBe(twoLegs);
  });

  it('refuses a call whose possible dialed leg would not fit the cap, counting both legs; nothing reaches Twilio', async () => {
    // $1 a day: a 60 s call to the US alone ($0.014) fits, with a possible $0.28 leg for 4 minutes it does not
    const key = await issueTwilioKey(stack, { daily_usd_cap: 1 });
    const refused = await restException(client(stack, key.vault_key).calls.create({ to: US, from: FROM, url: twiml, timeLimit: 240 }));
    expect(refused).toMatchObject({ status: 403, code: 'keyleash_daily_cap_reached', details: { requested_usd: 4 * 0.294 } });
    expect(refused.message).toContain('Do not retry');
    expect(stack.recorder.requests).toHaveLength(0);
    await client(stack, key.vault_key).calls.create({ to: US, from: FROM, twiml: SAY_ONLY, timeLimit: 240 });
    expect(stack.recorder.requests).toHaveLength(1);
  });

  it('refuses a call without TimeLimit under a capped key, unless the key’s policy gives a default, which then bounds the call at Twilio too', async () => {
    const bare = await issueTwilioKey(stack);
    const refused = await restException(client(stack, bare.vault_key).calls.create({ to: US, from: FROM, url: twiml }));
    expect(refused).toMatchObject({ status: 403, code: 'keyleash_unpriced_endpoint' });
    expect(refused.message).toMatch(/TimeLimit/);
    expect(stack.recorder.requests).toHaveLength(0);

    const bounded = await issueTwilioKey(stack, { twilio: { default_call_time_limit_seconds: 120 } });
    await client(stack, bounded.vault_key).calls.create({ to: US, from: FROM, url: twiml });
    expect(new URLSearchParams(stack.recorder.requests[0]!.body).getAll('TimeLimit')).toEqual(['120']);
    expect((await auditOf(stack, bounded.id))[0].reserved_micros).toBe(2 * (PRICE.voiceUSPerMinute + DEAREST_VOICE_PER_MINUTE));
  });

  it('prices a call to a country without a price at the policy’s fallback, and corrects the count when a fetch reveals the price', async () => {
    const key = await issueTwilioKey(stack, { twilio: { fallback_voice_usd_per_minute: 0.5 } });
    const twilio = client(stack, key.vault_key);
    const call = await twilio.calls.create({ to: UNKNOWN_COUNTRY, from: FROM, twiml: SAY_ONLY, timeLimit: 60 });
    expect((await auditOf(stack, key.id))[0].reserved_micros).toBe(500_000);
    // Prism's example fetched call cost $0.200
    await twilio.calls(call.sid).fetch();
    expect(await spendMicros(stack, key.id)).toBe(200_000);
  });

  it('a fallback voice price dearer than the whole table prices the dialed leg (it may go anywhere)', async () => {
    const key = await issueTwilioKey(stack, { twilio: { fallback_voice_usd_per_minute: 0.5 } });
    await client(stack, key.vault_key).calls.create({ to: US, from: FROM, url: twiml, timeLimit: 60 });
    expect((await auditOf(stack, key.id))[0].reserved_micros).toBe(PRICE.voiceUSPerMinute + 500_000);
  });
});

describe('Verify', () => {
  it('prices a verification at Verify’s fee plus the channel it sends: an SMS segment, a minute of voice, nothing for email', async () => {
    const key = await issueTwilioKey(stack, { allowed_endpoints: ['POST /verify.twilio.com/v2/Services/*/Verifications', 'POST /verify.twilio.com/v2/Services/*/VerificationCheck'] });
    const verifications = client(stack, key.vault_key).verify.v2.services(VERIFY_SERVICE).verifications;
    await verifications.create({ to: US, channel: 'sms' });
    await verifications.create({ to: GB, channel: 'call' });
    await verifications.create({ to: 'someone@example.com', channel: 'email' });
    await client(stack, key.vault_key).verify.v2.services(VERIFY_SERVICE).verificationChecks.create({ to: US, code: '123456' });

    expect(stack.recorder.requests.map((request) => `${request.host} ${request.path}`)).toEqual([
      `verify.twilio.com /v2/Services/${VERIFY_SERVICE}/Verifications`,
      `verify.twilio.com /v2/Services/${VERIFY_SERVICE}/Verifications`,
      `verify.twilio.com /v2/Services/${VERIFY_SERVICE}/Verifications`,
      `verify.twilio.com /v2/Services/${VERIFY_SERVICE}/VerificationCheck`,
    ]);
    expect((await auditOf(stack, key.id)).map((row) => row.reserved_micros)).toEqual([PRICE.verify + PRICE.smsUS, PRICE.verify + 40_000, PRICE.verify, 0]);
  });

  it('refuses a verification over a channel it cannot price under a capped key', async () => {
    const key = await issueTwilioKey(stack, { allowed_endpoints: ['POST /verify.twilio.com/**'] });
    const refused = await restException(client(stack, key.vault_key).verify.v2.services(VERIFY_SERVICE).verifications.create({ to: US, channel: 'whatsapp' }));
    expect(refused).toMatchObject({ status: 403, code: 'keyleash_unpriced_endpoint' });
    expect(stack.recorder.requests).toHaveLength(0);
  });
});

describe('Lookup', () => {
  it('lets a plain lookup through free, and treats a paid data package as unpriced', async () => {
    const key = await issueTwilioKey(stack, { allowed_endpoints: ['GET /lookups.twilio.com/v2/PhoneNumbers/*'] });
    const lookups = client(stack, key.vault_key).lookups.v2;
    stack.recorder.respond({ method: 'GET', pathSuffix: `/v2/PhoneNumbers/${US}`, status: 200, body: { phone_number: US, valid: true, country_code: 'US' } });
    const found = await lookups.phoneNumbers(US).fetch();
    expect(found.valid).toBe(true);
    expect(stack.recorder.requests[0]!.host).toBe('lookups.twilio.com');

    const refused = await restException(lookups.phoneNumbers(US).fetch({ fields: 'line_type_intelligence' }));
    expect(refused).toMatchObject({ status: 403, code: 'keyleash_unpriced_endpoint' });
    expect(stack.recorder.requests).toHaveLength(1);
    expect((await auditOf(stack, key.id)).map((row) => [row.decision, row.reserved_micros])).toEqual([
      ['allowed', 0],
      ['refused', 0],
    ]);
  });
});
