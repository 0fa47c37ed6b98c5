import { describe, expect, it } from 'vitest';
import { auditOf, client, FROM, issueTwilioKey, PRICE, restException, spendMicros, US, useTwilioStack } from './harness.ts';

const stack = useTwilioStack();

describe('a cap under concurrent sends', () => {
  it('lets exactly floor(cap / price) of many simultaneous messages reach Twilio, and refuses the rest as RestException', async () => {
    // $0.05 at $0.0083 a US segment: 6 messages ($0.0498) fit, the 7th would not
    const key = await issueTwilioKey(stack, { daily_usd_cap: 0.05 });
    const twilio = client(stack, key.vault_key);
    const results = await Promise.allSettled(Array.from({ length: 25 }, (_, i) => twilio.messages.create({ to: US, from: FROM, body: `message ${i}` })));

    const sent = results.filter((result) => result.status === 'fulfilled');
    const refused = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
    expect(sent).toHaveLength(Math.floor(50_000 / PRICE.smsUS));
    expect(stack.recorder.requests).toHaveLength(6);
    for (const { reason } of refused) {
      const error = await restException(Promise.reject(reason));
      expect(error).toMatchObject({ status: 403, code: 'keyleash_daily_cap_reached' });
    }
    expect(await spendMicros(stack, key.id)).toBe(6 * PRICE.smsUS);
    const rows = await auditOf(stack, key.id);
    expect(rows.filter((row) => row.decision === 'allowed')).toHaveLength(6);
    expect(rows.filter((row) => row.reason === 'keyleash_daily_cap_reached')).toHaveLength(19);
  });

  it('holds a parent’s cap when its children send at once, each under a cap of its own', async () => {
    const parent = await issueTwilioKey(stack, { daily_usd_cap: 0.05 });
    const children = await Promise.all([0, 1, 2].map(() => stack.api.derive(parent.vault_key, { daily_usd_cap: 0.03 })));
    const sends = children.flatMap((child) =>
      Array.from({ length: 8 }, (_, i) => client(stack, child.vault_key).messages.create({ to: US, from: FROM, body: `child message ${i}` })),
    );
    const results = await Promise.allSettled(sends);

    // each child fits 3 ($0.0249 <= $0.03), the parent only 6 in all
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(6);
    expect(stack.recorder.requests).toHaveLength(6);
    expect(await spendMicros(stack, parent.id)).toBe(6 * PRICE.smsUS);
    for (const child of children) expect(await spendMicros(stack, child.id)).toBeLessThanOrEqual(3 * PRICE.smsUS);
  });
});
