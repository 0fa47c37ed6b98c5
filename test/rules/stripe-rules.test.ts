/**
 * Parameter rules through the official Stripe SDK and a real keyleash: each rule kind allowed and
 * refused (StripePermissionError keyleash_rule_violation naming the rule and the value, nothing
 * upstream, an audit row), nested bracket-form parameters, a missing pinned parameter, requests
 * the SDK would never send (a parameter twice, in the query and the body), and child keys that
 * inherit rules and may only tighten them.
 */
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { auditOf, directSdk, issueStripeKey, raw, sdk, sdkError, spendMicros, useStripeStack } from '../stripe/harness.ts';

const stack = useStripeStack({ label: 'rules' });

const PI = 'POST /v1/payment_intents';

async function issue(rules: unknown[], policy: Record<string, unknown> = {}) {
  return issueStripeKey(stack, { rules, ...policy });
}

/** The call is refused with keyleash_rule_violation, nothing reaches Stripe, nothing is counted, and the refusal is audited. */
async function ruleRefusal(key: { id: string }, call: () => Promise<unknown>) {
  const before = stack.upstream.requests.length;
  const spentBefore = await spendMicros(stack, key.id);
  const error = await sdkError(call());
  expect(error).toBeInstanceOf(Stripe.errors.StripePermissionError);
  expect(error.code).toBe('keyleash_rule_violation');
  expect(stack.upstream.requests.length).toBe(before);
  expect(await spendMicros(stack, key.id)).toBe(spentBefore);
  const last = (await auditOf(stack, key.id)).at(-1);
  expect(last).toMatchObject({ decision: 'refused', reason: 'keyleash_rule_violation', settled_micros: 0 });
  return error;
}

describe('each rule kind, allowed and refused', () => {
  it('max_usd_per_call is judged on the priced cost, before anything is reserved', async () => {
    const key = await issue([{ endpoint: PI, max_usd_per_call: 50 }]);
    const stripe = sdk(stack.keyleash.url, key.vault_key);
    await stripe.paymentIntents.create({ amount: 5000, currency: 'usd' });
    const error = await ruleRefusal(key, () => stripe.paymentIntents.create({ amount: 5001, currency: 'usd' }));
    expect(error.message).toContain('rules[0] ("POST /v1/payment_intents")');
    expect(error.message).toContain('$50.01');
    expect(error.message).toContain('$50.00 per call');
    expect(error.message).toMatch(/do not retry/i);
    // priced by currency: 7,000 JPY is about $46, 8,000 JPY above $50
    await stripe.paymentIntents.create({ amount: 7000, currency: 'jpy' });
    await ruleRefusal(key, () => stripe.paymentIntents.create({ amount: 8000, currency: 'jpy' }));
  });

  it('currencies', async () => {
    const key = await issue([{ endpoint: PI, currencies: ['usd', 'eur'] }]);
    const stripe = sdk(stack.keyleash.url, key.vault_key);
    await stripe.paymentIntents.create({ amount: 700, currency: 'eur' });
    await stripe.paymentIntents.create({ amount: 700, currency: 'USD' });
    const error = await ruleRefusal(key, () => stripe.paymentIntents.create({ amount: 700, currency: 'gbp' }));
    expect(error.message).toContain('parameter "currency" is "gbp"');
    expect(error.message).toContain('only one of "usd", "eur"');
  });

  it('an exact value pinned to the key’s metadata, and a missing pinned parameter', async () => {
    const key = await issue([{ endpoint: PI, params: { customer: '{metadata.customer_id}' } }], { metadata: { customer_id: 'cus_pinned' } });
    const stripe = sdk(stack.keyleash.url, key.vault_key);
    await stripe.paymentIntents.create({ amount: 700, currency: 'usd', customer: 'cus_pinned' });
    const other = await ruleRefusal(key, () => stripe.paymentIntents.create({ amount: 700, currency: 'usd', customer: 'cus_other' }));
    expect(other.message).toContain('"cus_other"');
    expect(other.message).toContain('only "cus_pinned"');
    const missing = await ruleRefusal(key, () => stripe.paymentIntents.create({ amount: 700, currency: 'usd' }));
    expect(missing.message).toContain('parameter "customer" is missing');
  });

  it('a list of allowed values', async () => {
    const key = await issue([{ endpoint: PI, params: { capture_method: ['manual', 'automatic'] } }]);
    const stripe = sdk(stack.keyleash.url, key.vault_key);
    await stripe.paymentIntents.create({ amount: 700, currency: 'eur', capture_method: 'manual' });
    const error = await ruleRefusal(key, () => stripe.paymentIntents.create({ amount: 700, currency: 'eur', capture_method: 'automatic_async' }));
    expect(error.message).toContain('only one of "manual", "automatic"');
  });

  it('a prefix', async () => {
    const key = await issue([{ endpoint: PI, params: { description: { prefix: ['order-'] } } }]);
    const stripe = sdk(stack.keyleash.url, key.vault_key);
    await stripe.paymentIntents.create({ amount: 700, currency: 'usd', description: 'order-42' });
    const error = await ruleRefusal(key, () => stripe.paymentIntents.create({ amount: 700, currency: 'usd', description: 'gift card' }));
    expect(error.message).toContain('starting with "order-"');
  });

  it('a nested parameter in Stripe’s bracket form', async () => {
    const key = await issue([{ endpoint: PI, params: { 'transfer_data[destination]': 'acct_allowed' } }]);
    const stripe = sdk(stack.keyleash.url, key.vault_key);
    await stripe.paymentIntents.create({ amount: 700, currency: 'usd', transfer_data: { destination: 'acct_allowed' } });
    const error = await ruleRefusal(key, () => stripe.paymentIntents.create({ amount: 700, currency: 'usd', transfer_data: { destination: 'acct_thief' } }));
    expect(error.message).toContain('parameter "transfer_data[destination]" is "acct_thief"');
    await ruleRefusal(key, () => stripe.paymentIntents.create({ amount: 700, currency: 'usd' }));
  });

  it('a rule for another endpoint does not apply', async () => {
    const key = await issue([{ endpoint: 'POST /v1/refunds', max_usd_per_call: 1 }]);
    await sdk(stack.keyleash.url, key.vault_key).paymentIntents.create({ amount: 9000, currency: 'usd' });
  });
});

describe('requests the SDK would never send are judged strictly', () => {
  const send = (vaultKey: string, body: string, query = '') =>
    raw(stack.keyleash.url, {
      method: 'POST',
      path: `/v1/payment_intents${query}`,
      headers: { authorization: `Bearer ${vaultKey}`, 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });

  it('a pinned parameter given twice, nested, in the query as well, or with odd brackets is refused', async () => {
    const key = await issue([{ endpoint: PI, params: { customer: 'cus_ok', 'transfer_data[destination]': 'acct_ok' } }]);
    const before = stack.upstream.requests.length;
    const ok = 'amount=700&currency=usd&customer=cus_ok&transfer_data[destination]=acct_ok';
    expect((await send(key.vault_key, ok)).status).toBe(200);
    for (const [body, query] of [
      [`${ok}&customer=cus_evil`, ''],
      ['amount=700&currency=usd&customer[x]=cus_ok&transfer_data[destination]=acct_ok', ''],
      [ok, '?customer=cus_evil'],
      [`${ok}&transfer_data[destination]]=acct_evil`, ''],
      [`${ok}&transfer_data[destination][0]=acct_evil`, ''],
    ] as const) {
      const answer = await send(key.vault_key, body, query);
      expect(answer.status, body + query).toBe(403);
      expect(answer.json.error.code).toBe('keyleash_rule_violation');
    }
    expect(stack.upstream.requests.length).toBe(before + 1);
  });
});

describe('child keys inherit rules and may only tighten them', () => {
  const parentRules = [{ endpoint: PI, max_usd_per_call: 50, currencies: ['usd', 'eur'], params: { customer: '{metadata.customer_id}' } }];

  it('a child that gives no rules inherits the parent’s, and the API shows them', async () => {
    const parent = await issue(parentRules, { metadata: { customer_id: 'cus_tree' } });
    const child = await stack.api.derive(parent.vault_key, { daily_usd_cap: 10 });
    const shown = await stack.api.call('GET', `/api/vault_keys/${child.id}`);
    expect(shown.body.policy.rules).toEqual(parentRules);
    const stripe = sdk(stack.keyleash.url, child.vault_key);
    await stripe.paymentIntents.create({ amount: 700, currency: 'usd', customer: 'cus_tree' });
    await ruleRefusal(child, () => stripe.paymentIntents.create({ amount: 700, currency: 'usd', customer: 'cus_other' }));
  });

  it('a tighter child is accepted and held to its own rules', async () => {
    const parent = await issue(parentRules, { metadata: { customer_id: 'cus_tree' } });
    const child = await stack.api.derive(parent.vault_key, { rules: [{ ...parentRules[0], max_usd_per_call: 10, currencies: ['eur'] }] });
    const stripe = sdk(stack.keyleash.url, child.vault_key);
    await stripe.paymentIntents.create({ amount: 900, currency: 'eur', customer: 'cus_tree' });
    await ruleRefusal(child, () => stripe.paymentIntents.create({ amount: 700, currency: 'usd', customer: 'cus_tree' }));
    const error = await ruleRefusal(child, () => stripe.paymentIntents.create({ amount: 2000, currency: 'eur', customer: 'cus_tree' }));
    expect(error.message).toContain('$10.00 per call');
  });

  it('a child that drops or widens a rule is refused, naming the rule', async () => {
    const parent = await issue(parentRules, { metadata: { customer_id: 'cus_tree' } });
    for (const rules of [[], [{ ...parentRules[0], max_usd_per_call: 100 }], [{ ...parentRules[0], currencies: ['usd', 'gbp'] }], [{ ...parentRules[0], params: {} }]]) {
      const answer = await stack.api.call('POST', '/api/vault_keys', { parent_vault_key: parent.vault_key, rules }, null);
      expect(answer.status, JSON.stringify(rules)).toBe(403);
      expect(answer.body.error.problems.join('\n')).toContain('rules[0] ("POST /v1/payment_intents")');
    }
  });
});

describe('a step on an existing payment is judged at what it can move', () => {
  /** refused by the rule: priced with a lookup (a GET), but no POST reached Stripe and nothing was counted */
  async function stepRefusal(key: { id: string }, call: () => Promise<unknown>) {
    const posts = () => stack.upstream.requests.filter((request) => request.method === 'POST').length;
    const before = posts();
    const spentBefore = await spendMicros(stack, key.id);
    const error = await sdkError(call());
    expect(error.code).toBe('keyleash_rule_violation');
    expect(posts()).toBe(before);
    expect(await spendMicros(stack, key.id)).toBe(spentBefore);
    return error;
  }

  it('max_usd_per_call refuses raising a $1 intent past the limit, and confirming one created elsewhere above it', async () => {
    const key = await issue([{ endpoint: 'POST /v1/payment_intents/**', max_usd_per_call: 50 }], {
      allowed_endpoints: ['POST /v1/payment_intents', 'POST /v1/payment_intents/*', 'POST /v1/payment_intents/*/confirm'],
    });
    const stripe = sdk(stack.keyleash.url, key.vault_key);
    const intent = await stripe.paymentIntents.create({ amount: 100, currency: 'usd' });
    // under the ledger the raise costs the $4,999 it adds; the rule sees the $5,000 it lets move
    const error = await stepRefusal(key, () => stripe.paymentIntents.update(intent.id, { amount: 500_000 }));
    expect(error.message).toContain('$5,000.00');
    await stripe.paymentIntents.update(intent.id, { amount: 4_000 });
    await stripe.paymentIntents.confirm(intent.id, { payment_method: 'pm_card_visa' });
    // an intent created with the real key outside keyleash (the dashboard), for $60: confirming it moves $60
    const outside = await directSdk(stack).paymentIntents.create({ amount: 6_000, currency: 'usd' });
    await stepRefusal(key, () => stripe.paymentIntents.confirm(outside.id, { payment_method: 'pm_card_visa' }));
  });
});
