/**
 * Parameter rules on their own: each kind of constraint allowed and refused, placeholders, nested
 * names, unreadable parameters, the per-call maximum, and a child that may only tighten.
 */
import { describe, expect, it } from 'vitest';
import { deriveChildPolicy } from '../src/derivation.ts';
import { DeriveKeyRequest, IssueKeyRequest, policyFromIssueRequest, type Policy } from '../src/policy.ts';
import { findCostViolation, findParamViolation, type ParamReader } from '../src/rules/evaluate.ts';
import { ruleFromJson, type ParameterRuleJson } from '../src/rules/schema.ts';
import { keyRecord } from './key-record-fixture.ts';

const NOW = Date.parse('2025-06-01T12:00:00Z');
const PI = ['v1', 'payment_intents'];

function reader(params: Record<string, string | 'UNREADABLE'>): ParamReader {
  return (name) => {
    const value = params[name];
    if (value === undefined) return { kind: 'absent' };
    if (value === 'UNREADABLE') return { kind: 'unreadable', reason: 'given twice' };
    return { kind: 'value', value };
  };
}

function judge(rule: ParameterRuleJson, params: Record<string, string>, metadata: Record<string, string> = {}) {
  return findParamViolation([ruleFromJson(rule)], 'POST', PI, reader(params), metadata);
}

describe('each constraint kind', () => {
  const endpoint = 'POST /v1/payment_intents';

  it('an exact string', () => {
    expect(judge({ endpoint, params: { customer: 'cus_1' } }, { customer: 'cus_1' })).toBeUndefined();
    const violation = judge({ endpoint, params: { customer: 'cus_1' } }, { customer: 'cus_2' });
    expect(violation).toMatchObject({ rule: 'rules[0] ("POST /v1/payment_intents")', subject: 'customer', offending: 'cus_2' });
    expect(violation!.reason).toContain('only "cus_1"');
  });

  it('a list of allowed strings', () => {
    const rule = { endpoint, params: { payment_method_types: ['card', 'sepa_debit'] } };
    expect(judge(rule, { payment_method_types: 'sepa_debit' })).toBeUndefined();
    expect(judge(rule, { payment_method_types: 'klarna' })?.offending).toBe('klarna');
  });

  it('a prefix list', () => {
    const rule = { endpoint, params: { description: { prefix: ['order-', 'refund-'] } } };
    expect(judge(rule, { description: 'order-42' })).toBeUndefined();
    expect(judge(rule, { description: 'gift-1' })?.reason).toContain('starting with "order-", "refund-"');
  });

  it('a metadata placeholder resolves to the key’s own metadata', () => {
    const rule = { endpoint, params: { customer: '{metadata.customer_id}' } };
    expect(judge(rule, { customer: 'cus_9' }, { customer_id: 'cus_9' })).toBeUndefined();
    expect(judge(rule, { customer: 'cus_8' }, { customer_id: 'cus_9' })?.reason).toContain('only "cus_9"');
    expect(judge(rule, { customer: 'cus_9' }, {})?.offending).toBe('(unresolvable)');
  });

  it('currencies, case-insensitively', () => {
    const rule = { endpoint, currencies: ['usd', 'EUR'] };
    expect(judge(rule, { currency: 'eur' })).toBeUndefined();
    expect(judge(rule, { currency: 'USD' })).toBeUndefined();
    expect(judge(rule, { currency: 'jpy' })).toMatchObject({ subject: 'currency', offending: 'jpy' });
  });

  it('a missing pinned parameter and an unreadable one are violations', () => {
    expect(judge({ endpoint, params: { customer: 'cus_1' } }, {})).toMatchObject({ offending: '(missing)' });
    expect(judge({ endpoint, currencies: ['usd'] }, {})).toMatchObject({ subject: 'currency', offending: '(missing)' });
    expect(judge({ endpoint, params: { customer: 'cus_1' } }, { customer: 'UNREADABLE' })).toMatchObject({ offending: '(unreadable)' });
  });

  it('a nested name is looked up by its bracket form', () => {
    const rule = { endpoint, params: { 'transfer_data[destination]': 'acct_1' } };
    expect(judge(rule, { 'transfer_data[destination]': 'acct_1' })).toBeUndefined();
    expect(judge(rule, { 'transfer_data[destination]': 'acct_2' })?.subject).toBe('transfer_data[destination]');
  });

  it('a rule for another endpoint or method does not apply', () => {
    const rules = [ruleFromJson({ endpoint: 'POST /v1/refunds', params: { reason: 'duplicate' } })];
    expect(findParamViolation(rules, 'POST', PI, reader({}), {})).toBeUndefined();
    const get = [ruleFromJson({ endpoint: 'GET /v1/payment_intents', params: { customer: 'x' } })];
    expect(findParamViolation(get, 'POST', PI, reader({}), {})).toBeUndefined();
  });

  it('max_usd_per_call is judged on the priced cost', () => {
    const rules = [ruleFromJson({ endpoint: 'POST /v1/*', max_usd_per_call: 50 })];
    expect(findCostViolation(rules, 'POST', PI, 50_000_000)).toBeUndefined();
    expect(findCostViolation(rules, 'POST', PI, 50_000_001)).toMatchObject({ subject: 'cost', offending: '$50.000001' });
  });
});

describe('the schema', () => {
  const base = { vendor: 'stripe', daily_usd_cap: 10, allowed_endpoints: ['POST /v1/*'], expires_in: '1h' };

  it('refuses a rule with no constraint, a bad name, or a placeholder the key has no field for', () => {
    expect(IssueKeyRequest.safeParse({ ...base, rules: [{ endpoint: 'POST /v1/*' }] }).success).toBe(false);
    expect(IssueKeyRequest.safeParse({ ...base, rules: [{ endpoint: 'POST /v1/*', params: { 'a[b': 'x' } }] }).success).toBe(false);
    const missing = IssueKeyRequest.safeParse({ ...base, rules: [{ endpoint: 'POST /v1/*', params: { customer: '{metadata.customer_id}' } }] });
    expect(missing.success).toBe(false);
    expect(missing.error!.issues[0]!.message).toContain('metadata.customer_id');
  });
});

describe('a child may only tighten', () => {
  const parentRules: ParameterRuleJson[] = [
    { endpoint: 'POST /v1/payment_intents', max_usd_per_call: 50, currencies: ['usd', 'eur'], params: { customer: '{metadata.customer_id}', description: { prefix: ['order-'] } } },
  ];
  const parent = keyRecord(
    policyFromIssueRequest(
      IssueKeyRequest.parse({ vendor: 'stripe', daily_usd_cap: 100, allowed_endpoints: ['POST /v1/*'], expires_in: '1h', metadata: { customer_id: 'cus_1' }, rules: parentRules }),
      NOW,
    ),
    NOW,
  );
  const derive = (request: Record<string, unknown>) => deriveChildPolicy([parent], DeriveKeyRequest.parse({ parent_vault_key: 'vk_p', ...request }), NOW);
  const tighter = { ...parentRules[0]!, max_usd_per_call: 20, currencies: ['usd'], params: { customer: 'cus_1', description: { prefix: ['order-2025-'] } } };

  it('inherits the parent’s rules when it gives none', () => {
    const derived = derive({});
    expect(derived.ok && derived.policy.rules).toEqual((parent.policy as Policy).rules);
  });

  it('accepts tighter rules, and rules added on top', () => {
    expect(derive({ rules: [tighter] }).ok).toBe(true);
    expect(derive({ rules: [{ endpoint: 'POST /v1/*', params: { statement_descriptor: 'X' } }, tighter] }).ok).toBe(true);
    // a wider endpoint with the same constraints covers the parent's rule
    expect(derive({ rules: [{ ...parentRules[0]!, endpoint: 'POST /v1/*' }] }).ok).toBe(true);
  });

  const widenings: [string, Record<string, unknown>, string][] = [
    ['dropped', { rules: [] }, 'the child has no rule for this endpoint'],
    ['a higher max', { rules: [{ ...tighter, max_usd_per_call: 51 }] }, 'max_usd_per_call is $51.00'],
    ['no max', { rules: [{ endpoint: tighter.endpoint, currencies: tighter.currencies, params: tighter.params }] }, 'max_usd_per_call is missing'],
    ['another currency', { rules: [{ ...tighter, currencies: ['usd', 'gbp'] }] }, 'currencies gbp'],
    ['another customer', { rules: [{ ...tighter, params: { ...tighter.params, customer: 'cus_2' } }] }, 'params.customer'],
    ['a list where a prefix was', { rules: [{ ...tighter, params: { ...tighter.params, description: ['order-1', 'gift-1'] } }] }, 'params.description'],
    ['a shorter prefix', { rules: [{ ...tighter, params: { ...tighter.params, description: { prefix: ['ord'] } } }] }, 'params.description'],
    ['a dropped parameter', { rules: [{ ...tighter, params: { customer: 'cus_1' } }] }, 'params.description is missing'],
    ['a narrower endpoint', { rules: [{ ...tighter, endpoint: 'POST /v1/payment_intents/*' }] }, 'no rule for this endpoint'],
  ];
  it.each(widenings)('refuses a child whose rule is %s, naming the rule', (_name, request, why) => {
    const derived = derive(request);
    expect(derived.ok).toBe(false);
    const problems = (derived as { problems: string[] }).problems.join('\n');
    expect(problems).toContain('rules[0] ("POST /v1/payment_intents")');
    expect(problems).toContain(why);
  });
});
