/**
 * Policy beyond caps on Twilio, through twilio-node and a real keyleash: parameter rules on the
 * flat PascalCase form parameters (destination prefixes, a pinned sender, the per-call maximum on
 * a priced SMS), and a message held for approval.
 */
import { describe, expect, it } from 'vitest';
import { auditOf, client, FROM, GB, issueTwilioKey, restException, US, useTwilioStack } from '../twilio/harness.ts';

const stack = useTwilioStack();
const MESSAGES = 'POST /api.twilio.com/2010-04-01/Accounts/*/Messages.json';

async function refused(keyId: string, call: Promise<unknown>) {
  const error = await restException(call);
  expect(error.status).toBe(403);
  expect(error.code).toBe('keyleash_rule_violation');
  expect(error.message).toContain(`rules[0] ("${MESSAGES}")`);
  expect(stack.recorder.requests).toHaveLength(0);
  expect((await auditOf(stack, keyId)).at(-1)).toMatchObject({ decision: 'refused', reason: 'keyleash_rule_violation' });
  return error;
}

describe('rules on Twilio messages', () => {
  it('a destination prefix and a sender pinned to the key’s metadata', async () => {
    const key = await issueTwilioKey(stack, {
      metadata: { sender: FROM },
      rules: [{ endpoint: MESSAGES, params: { To: { prefix: ['+1'] }, From: '{metadata.sender}' } }],
    });
    const twilio = client(stack, key.vault_key);
    await twilio.messages.create({ to: US, from: FROM, body: 'hi' });
    stack.recorder.reset();
    const abroad = await refused(key.id, twilio.messages.create({ to: GB, from: FROM, body: 'hi' }));
    expect(abroad.message).toContain(`parameter "To" is "${GB}"`);
    expect(abroad.message).toContain('starting with "+1"');
    const spoofed = await refused(key.id, twilio.messages.create({ to: US, from: '+14155550000', body: 'hi' }));
    expect(spoofed.message).toContain(`only "${FROM}"`);
  });

  it('max_usd_per_call on the priced message: a US SMS fits, a UK SMS does not', async () => {
    const key = await issueTwilioKey(stack, { rules: [{ endpoint: MESSAGES, max_usd_per_call: 0.01 }] });
    const twilio = client(stack, key.vault_key);
    await twilio.messages.create({ to: US, from: FROM, body: 'hi' });
    stack.recorder.reset();
    const error = await refused(key.id, twilio.messages.create({ to: GB, from: FROM, body: 'hi' }));
    expect(error.message).toContain('$0.0524');
  });
});

describe('approval on Twilio messages', () => {
  it('a message above the threshold waits; approved it is sent, denied it is refused and released', async () => {
    const key = await issueTwilioKey(stack, { approval: { above_usd: 0.05, timeout: '20s' } });
    const twilio = client(stack, key.vault_key);
    await twilio.messages.create({ to: US, from: FROM, body: 'cheap: not held' });
    const pending = async () => {
      for (;;) {
        const held = ((await stack.api.call('GET', '/api/approvals?status=pending')).body.data as any[]).filter((a) => a.vault_key_id === key.id);
        if (held.length) return held[0];
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    stack.recorder.reset();
    const sent = twilio.messages.create({ to: GB, from: FROM, body: 'dear: held' });
    const first = await pending();
    expect(first).toMatchObject({ vendor: 'twilio', amount_usd: 0.0524 });
    expect(stack.recorder.requests).toHaveLength(0);
    await stack.api.call('POST', `/api/approvals/${first.id}/approve`);
    expect((await sent).sid).toMatch(/^SM/);
    expect(stack.recorder.requests).toHaveLength(1);

    stack.recorder.reset();
    const denied = restException(twilio.messages.create({ to: GB, from: FROM, body: 'dear: denied' }));
    const second = await pending();
    await stack.api.call('POST', `/api/approvals/${second.id}/deny`);
    const error = await denied;
    expect(error.status).toBe(403);
    expect(error.code).toBe('keyleash_approval_denied');
    expect(stack.recorder.requests).toHaveLength(0);
  });
});
