/**
 * One budget across vendors: a key covering Stripe and OpenAI, its model calls and its charges
 * fired at once against one daily cap, with a sub-agent's child key spending from the same cap
 * at the same time. The cap is never exceeded (a model call reserves its worst case, so the
 * reservations can never add up past it), the refusals are each SDK's own error with
 * keyleash_daily_cap_reached, and the ledger equals what the two upstreams saw: the amounts
 * Stripe received plus the usage OpenAI reported.
 */
import OpenAI from 'openai';
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { sdk } from '../stripe/harness.ts';
import { auditOf, openaiSdk, spendMicros, usageMicros, useOpenAIStack } from './harness.ts';

const stack = useOpenAIStack();

const CAP_USD = 6;
const MODEL = 'gpt-4o';
const CHARGE_CENTS = 100; // $1
const OUTPUT_BOUND = 40_000; // worst case ~$0.40 per model call
const USAGE = { input: 40, output: 12_000 }; // what each call really used: ~$0.12

describe('model calls and charges under one cap', () => {
  it('never lets LLM spend and Stripe charges together pass the cap, parent and child key firing at once', async () => {
    const parent = await stack.api.issue({
      vendors: ['stripe', 'openai'],
      daily_usd_cap: CAP_USD,
      allowed_endpoints: ['stripe:POST /v1/payment_intents', 'openai:POST /v1/chat/completions'],
      expires_in: '1h',
      metadata: { role: 'billing' },
    });
    // the sub-agent: its own $2 cap, and every cent of it also counts against the parent's $6
    const child = await stack.api.derive(parent.vault_key, { daily_usd_cap: 2, metadata: { sub_agent: 'installments' } });
    const stripeBefore = stack.stripe.requests.length;
    const modelBefore = stack.model.requests.length;
    stack.model.push(Array.from({ length: 60 }, () => ({ text: 'ok', usage: USAGE })));

    const charge = (vaultKey: string, i: number) => sdk(stack.keyleash.url, vaultKey).paymentIntents.create({ amount: CHARGE_CENTS, currency: 'usd', metadata: { n: String(i) } });
    const think = (vaultKey: string, i: number) =>
      openaiSdk(stack, vaultKey).chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: `step ${i}` }], max_completion_tokens: OUTPUT_BOUND });
    const calls = Array.from({ length: 60 }, (_, i) => {
      const key = i % 3 === 0 ? child.vault_key : parent.vault_key;
      return i % 2 === 0 ? charge(key, i) : think(key, i);
    });
    const results = await Promise.allSettled(calls);

    for (const result of results) {
      if (result.status === 'fulfilled') continue;
      const error = result.reason as { code?: string };
      expect(error instanceof Stripe.errors.StripePermissionError || error instanceof OpenAI.PermissionDeniedError, String(result.reason)).toBe(true);
      expect(error.code).toBe('keyleash_daily_cap_reached');
    }
    const succeeded = results.filter((r) => r.status === 'fulfilled').length;
    expect(succeeded).toBeGreaterThan(0);
    expect(succeeded).toBeLessThan(60);

    // what the upstreams saw: Stripe's amounts, and the usage OpenAI reported for each call it answered
    const charged = stack.stripe.requests.slice(stripeBefore).filter((r) => r.path === '/v1/payment_intents');
    const modelCalls = stack.model.requests.slice(modelBefore);
    const upstreamMicros = charged.length * CHARGE_CENTS * 10_000 + modelCalls.length * usageMicros(MODEL, USAGE);
    expect(charged.length + modelCalls.length).toBe(succeeded);
    expect(modelCalls.length).toBeGreaterThan(0);
    expect(charged.length).toBeGreaterThan(0);

    const parentSpend = await spendMicros(stack, parent.id);
    expect(parentSpend).toBe(upstreamMicros);
    expect(parentSpend).toBeLessThanOrEqual(CAP_USD * 1_000_000);
    const childSpend = await spendMicros(stack, child.id);
    expect(childSpend).toBeLessThanOrEqual(2_000_000);
    // the audit splits every request by vendor, and its settled amounts add up to the ledger
    const rows = [...(await auditOf(stack, parent.id)), ...(await auditOf(stack, child.id))];
    const byVendor = (vendor: string) => rows.filter((r) => r.vendor === vendor && r.decision === 'allowed').reduce((sum, r) => sum + r.settled_micros, 0);
    expect(byVendor('stripe')).toBe(charged.length * CHARGE_CENTS * 10_000);
    expect(byVendor('openai')).toBe(modelCalls.length * usageMicros(MODEL, USAGE));
    // the spend views: by the key's vendors (one group for the mixed tree), and split by request vendor
    const byKeyVendor = (await stack.api.call('GET', '/api/spend?group_by=vendor')).body.data;
    expect(byKeyVendor.find((row: { group: string }) => row.group === 'stripe+openai').micros).toBe(parentSpend);
    const byRequestVendor = (await stack.api.call('GET', '/api/spend?group_by=request_vendor')).body.data;
    expect(byRequestVendor.find((row: { group: string }) => row.group === 'openai').micros).toBe(byVendor('openai'));
    expect(byRequestVendor.find((row: { group: string }) => row.group === 'stripe').micros).toBe(byVendor('stripe'));
  });

  it('refuses a vendor the key does not cover, and an endpoint allowed only for the other vendor', async () => {
    const key = await stack.api.issue({ vendors: ['stripe', 'openai'], daily_usd_cap: 1, allowed_endpoints: ['stripe:POST /v1/refunds', 'openai:POST /v1/chat/completions'], expires_in: '1h' });
    const refused = await openaiSdk(stack, key.vault_key)
      .embeddings.create({ model: 'text-embedding-3-small', input: 'x' })
      .catch((e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
    expect(refused).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((refused as InstanceType<typeof OpenAI.APIError>).code).toBe('keyleash_endpoint_not_allowed');
    const twilio = await fetch(`${stack.keyleash.url}/twilio/api.twilio.com/2010-04-01/Accounts/AC00000000000000000000000000000000/Messages.json`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${key.vault_key.split('_').slice(0, 2).join('_')}:${key.vault_key.split('_')[2]}`).toString('base64')}` },
    });
    expect(twilio.status).toBe(403);
    expect((await twilio.json()).code).toBe('keyleash_vendor_mismatch');
  });
});
