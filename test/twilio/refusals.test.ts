import twilio from 'twilio';
import { describe, expect, it } from 'vitest';
import { generateVaultKey, TWILIO_PLACEHOLDER_ACCOUNT_SID } from '../../packages/core/src/index.ts';
import { twilioFor } from '../../packages/client/src/index.ts';
import { adminApi, startKeyleash } from '../support/keyleash-process.ts';
import {
  basic,
  client,
  form,
  FROM,
  issueTwilioKey,
  raw,
  restException,
  US,
  useTwilioStack,
  vaultKeySecret,
} from './harness.ts';

const stack = useTwilioStack();
const issuedKeys: string[] = [];

async function key(policy: Record<string, unknown> = {}) {
  const issued = await issueTwilioKey(stack, policy);
  issuedKeys.push(issued.vault_key);
  return issued;
}

const messagesPath = `/twilio/api.twilio.com/2010-04-01/Accounts/${TWILIO_PLACEHOLDER_ACCOUNT_SID}/Messages.json`;
const sms = form([['To', US], ['From', FROM], ['Body', 'hi']]);

/** a refusal as twilio-node raises it: RestException with keyleash's code, status and an explanation */
async function refusedBySdk(call: Promise<unknown>, status: number, code: string) {
  const error = await restException(call);
  expect(error.status).toBe(status);
  expect(error.code).toBe(code);
  expect(error.message).toMatch(/^Refused: /);
  expect(error.moreInfo).toMatch(/keyleash/);
  return error;
}

describe('refusals arrive as twilio.RestException with a keyleash code, and nothing reaches Twilio', () => {
  it('a key that is unknown, revoked, or whole in the username; a Stripe key; real Twilio credentials', async () => {
    const unknown = generateVaultKey().vaultKey;
    await refusedBySdk(client(stack, unknown).messages.create({ to: US, from: FROM, body: 'hi' }), 401, 'keyleash_unknown_key');

    const revoked = await key();
    expect((await stack.api.call('POST', `/api/vault_keys/${revoked.id}/revoke`)).status).toBe(200);
    await refusedBySdk(client(stack, revoked.vault_key).messages.create({ to: US, from: FROM, body: 'hi' }), 401, 'keyleash_key_revoked');

    const whole = await key();
    const wholeInUsername = twilio(whole.vault_key, 'anything', { accountSid: TWILIO_PLACEHOLDER_ACCOUNT_SID, httpClient: (client(stack, whole.vault_key) as any).httpClient });
    await refusedBySdk(wholeInUsername.messages.create({ to: US, from: FROM, body: 'hi' }), 401, 'keyleash_unknown_key');

    const stripeKey = await stack.api.issue({ vendor: 'stripe', daily_usd_cap: 10, allowed_endpoints: ['POST /v1/payment_intents'], expires_in: '1h' });
    await refusedBySdk(client(stack, stripeKey.vault_key).messages.create({ to: US, from: FROM, body: 'hi' }), 403, 'keyleash_vendor_mismatch');

    const realCredentials = await raw(stack.keyleash.url, {
      method: 'POST',
      path: messagesPath,
      headers: { authorization: `Basic ${Buffer.from(`${stack.accountSid}:${stack.secret}`).toString('base64')}` },
      body: sms,
    });
    expect(realCredentials.status).toBe(401);
    expect(realCredentials.json).toMatchObject({ code: 'keyleash_missing_key', status: 401 });
    const none = await raw(stack.keyleash.url, { method: 'POST', path: messagesPath, body: sms });
    expect(none.json.code).toBe('keyleash_missing_key');
    expect(stack.recorder.requests).toHaveLength(0);
  });

  it('an endpoint outside the allowlist, an endpoint with no price under a cap, an endpoint that mints Twilio credentials', async () => {
    const messagesOnly = await key({ allowed_endpoints: ['POST /api.twilio.com/2010-04-01/Accounts/*/Messages.json'] });
    const notAllowed = await refusedBySdk(
      client(stack, messagesOnly.vault_key).calls.create({ to: US, from: FROM, url: 'https://example.com/twiml', timeLimit: 60 }),
      403,
      'keyleash_endpoint_not_allowed',
    );
    // the refusal names the endpoint as the agent knows it: with the placeholder account SID
    expect(notAllowed.message).toContain(`/api.twilio.com/2010-04-01/Accounts/${TWILIO_PLACEHOLDER_ACCOUNT_SID}/Calls.json`);
    expect(notAllowed.message).not.toContain(stack.accountSid);

    const everything = await key({ allowed_endpoints: ['* /api.twilio.com/**'] });
    const twilioClient = client(stack, everything.vault_key);
    const unpriced = await refusedBySdk(twilioClient.incomingPhoneNumbers.create({ phoneNumber: '+14155550111' }), 403, 'keyleash_unpriced_endpoint');
    expect(unpriced.message).toMatch(/"unpriced" policy/);
    await refusedBySdk(twilioClient.newKeys.create({ friendlyName: 'escape hatch' }), 403, 'keyleash_endpoint_not_allowed');
    await refusedBySdk(twilioClient.api.v2010.accounts.create({ friendlyName: 'a subaccount with its own token' }), 403, 'keyleash_endpoint_not_allowed');
    expect(stack.recorder.requests).toHaveLength(0);
  });

  it('another account in the path, a path keyleash would have to guess at, a host that is not Twilio’s', async () => {
    const issued = await key();
    const auth = { authorization: basic(issued.vault_key) };
    const otherAccount = await raw(stack.keyleash.url, { method: 'POST', path: `/twilio/api.twilio.com/2010-04-01/Accounts/AC${'b'.repeat(32)}/Messages.json`, headers: auth, body: sms });
    expect(otherAccount.status).toBe(403);
    expect(otherAccount.json).toMatchObject({ code: 'keyleash_account_not_allowed', status: 403 });

    for (const path of [
      `${messagesPath}/`,
      `/twilio/api.twilio.com/2010-04-01/Accounts/${TWILIO_PLACEHOLDER_ACCOUNT_SID}/Messages%2Fx.json`,
      `/twilio/api.twilio.com/2010-04-01/Accounts/${TWILIO_PLACEHOLDER_ACCOUNT_SID}/../Messages.json`,
      `/twilio/evil.example.com/2010-04-01/Accounts/${TWILIO_PLACEHOLDER_ACCOUNT_SID}/Messages.json`,
      `/twilio/api.twilio.com`,
    ]) {
      const answer = await raw(stack.keyleash.url, { method: 'POST', path, headers: auth, body: sms });
      expect(answer.status, path).toBe(400);
      expect(answer.json, path).toMatchObject({ code: 'keyleash_ambiguous_request', status: 400 });
    }
    expect(stack.recorder.requests).toHaveLength(0);
  });

  it('a rate limit and a spend cap, with the numbers in details', async () => {
    const limited = await key({ rate_limit: { requests_per_minute: 1 } });
    await client(stack, limited.vault_key).messages.create({ to: US, from: FROM, body: 'first' });
    await refusedBySdk(client(stack, limited.vault_key).messages.create({ to: US, from: FROM, body: 'second' }), 429, 'keyleash_rate_limited');

    const capped = await key({ daily_usd_cap: 0.01 });
    await client(stack, capped.vault_key).messages.create({ to: US, from: FROM, body: 'fits' });
    const overCap = await refusedBySdk(client(stack, capped.vault_key).messages.create({ to: US, from: FROM, body: 'does not' }), 403, 'keyleash_daily_cap_reached');
    expect(overCap.details).toMatchObject({ key_id: capped.id, cap_usd: 0.01, spent_usd: 0.0083, requested_usd: 0.0083 });
    expect(overCap.message).toMatch(/Do not retry/);
    expect(stack.recorder.requests).toHaveLength(2);
  });

  it('a keyleash with no Twilio credentials refuses, as unavailable, before anything is sent', async () => {
    const bare = await startKeyleash({ upstreams: stack.recorder.upstreamsFor(['api.twilio.com']), env: { TWILIO_ACCOUNT_SID: stack.accountSid } });
    try {
      const issued = await adminApi(bare).issue({ vendor: 'twilio', daily_usd_cap: 1, allowed_endpoints: ['* /api.twilio.com/**'], expires_in: '1h' });
      const sent = twilioFor({ vaultKey: issued.vault_key, proxyUrl: bare.url }).messages.create({ to: US, from: FROM, body: 'hi' });
      const error = await refusedBySdk(sent, 503, 'keyleash_upstream_not_configured');
      expect(error.message).toContain('TWILIO_AUTH_TOKEN');
    } finally {
      await bare.stop();
    }
    expect(stack.recorder.requests).toHaveLength(0);
  });
});

describe('secrets', () => {
  it('no auth token and no vault key secret in keyleash’s output, its audit, or anything an agent received', async () => {
    // everything above ran against this keyleash: now look at what it kept and printed
    const audit = JSON.stringify(await stack.api.audit());
    const output = stack.keyleash.output();
    const secrets = [stack.secret, ...issuedKeys.map(vaultKeySecret)];
    for (const secret of secrets) {
      expect(audit).not.toContain(secret);
      expect(output).not.toContain(secret);
    }
    const issued = await key();
    const refusal = await raw(stack.keyleash.url, { method: 'POST', path: messagesPath, headers: { authorization: basic(issued.vault_key) }, body: form([['To', '555'], ['Body', 'x']]) });
    expect(refusal.text).not.toContain(vaultKeySecret(issued.vault_key));
    expect(refusal.text).not.toContain(stack.secret);
    expect(refusal.text).not.toContain(stack.accountSid);
  });
});
