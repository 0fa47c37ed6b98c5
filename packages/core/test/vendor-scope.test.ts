/** Keys covering several vendors: issue validation, per-vendor allowlists, and children never wider. */
import { describe, expect, it } from 'vitest';
import { deriveChildPolicy } from '../src/derivation.ts';
import { DeriveKeyRequest, describeIssues, IssueKeyRequest, policyFromIssueRequest, policyToJson, type Policy } from '../src/policy.ts';
import { patternsForVendor, policyVendors } from '../src/vendor-scope.ts';
import { keyRecord } from './key-record-fixture.ts';

const NOW = Date.parse('2025-06-01T12:00:00Z');

function issue(body: Record<string, unknown>) {
  return IssueKeyRequest.safeParse({ daily_usd_cap: 10, expires_in: '1h', ...body });
}

const MIXED: Policy = policyFromIssueRequest(
  IssueKeyRequest.parse({
    vendors: ['stripe', 'openai'],
    daily_usd_cap: 10,
    expires_in: '8h',
    allowed_endpoints: ['stripe:POST /v1/payment_intents', 'openai:POST /v1/chat/completions', 'openai:GET /v1/models'],
    openai: { default_max_output_tokens: 1000 },
  }),
  NOW,
);

function derive(request: Record<string, unknown>) {
  return deriveChildPolicy([keyRecord(MIXED, NOW)], DeriveKeyRequest.parse({ parent_vault_key: 'vk_p', ...request }), NOW);
}

describe('a key covering several vendors', () => {
  it('holds its vendors and shows them in JSON; a one-vendor key reads as before', () => {
    expect(policyVendors(MIXED)).toEqual(['stripe', 'openai']);
    expect(policyToJson(MIXED)).toMatchObject({ vendor: 'stripe', vendors: ['stripe', 'openai'] });
    const single = policyFromIssueRequest(IssueKeyRequest.parse({ vendor: 'stripe', daily_usd_cap: 1, expires_in: '1h', allowed_endpoints: ['POST /v1/refunds'] }), NOW);
    expect(single.vendors).toBeUndefined();
    expect(policyToJson(single).vendors).toEqual(['stripe']);
  });

  it('splits its allowlist by vendor; an unprefixed pattern belongs to a one-vendor key', () => {
    expect(patternsForVendor(MIXED.allowedEndpoints, ['stripe', 'openai'], 'openai')).toEqual(['POST /v1/chat/completions', 'GET /v1/models']);
    expect(patternsForVendor(MIXED.allowedEndpoints, ['stripe', 'openai'], 'twilio')).toEqual([]);
    expect(patternsForVendor(['POST /v1/refunds', 'stripe:GET /v1/customers/*'], ['stripe'], 'stripe')).toEqual(['POST /v1/refunds', 'GET /v1/customers/*']);
  });

  it('refuses an issue that is ambiguous or names a vendor it does not cover', () => {
    const problems = (body: Record<string, unknown>) => {
      const parsed = issue(body);
      return parsed.success ? [] : describeIssues(parsed.error);
    };
    expect(problems({ vendors: ['stripe', 'openai'], allowed_endpoints: ['POST /v1/payment_intents'] })).toEqual([
      'allowed_endpoints: "POST /v1/payment_intents" must name its vendor on a key covering stripe, openai, e.g. "stripe:POST /v1/payment_intents"',
    ]);
    expect(problems({ vendor: 'openai', allowed_endpoints: ['stripe:POST /v1/refunds'] })[0]).toContain('names stripe, which this key does not cover');
    expect(problems({ vendor: 'stripe', vendors: ['stripe'], allowed_endpoints: ['POST /v1/refunds'] })[0]).toContain('not both');
    expect(problems({ allowed_endpoints: ['POST /v1/refunds'] })[0]).toContain('give vendor');
    expect(problems({ vendors: ['stripe', 'stripe'], allowed_endpoints: ['stripe:POST /v1/refunds'] })[0]).toContain('listed twice');
    expect(problems({ vendors: ['stripe', 'twilio'], allowed_endpoints: ['stripe:POST /v1/refunds'], openai: { default_max_output_tokens: 5 } })[0]).toContain('openai settings apply only');
    expect(problems({ vendors: ['stripe'], allowed_endpoints: ['openai:POST /nope nope'] })[0]).toContain('is not of the form');
  });
});

describe('a child of a key covering several vendors', () => {
  it('inherits every vendor by default, or keeps fewer and inherits only their patterns', () => {
    const all = derive({});
    expect(all).toMatchObject({ ok: true, policy: { vendors: ['stripe', 'openai'], allowedEndpoints: MIXED.allowedEndpoints } });
    const modelOnly = derive({ vendors: ['openai'] });
    expect(modelOnly).toMatchObject({ ok: true, policy: { vendor: 'openai', allowedEndpoints: ['openai:POST /v1/chat/completions', 'openai:GET /v1/models'] } });
    expect(modelOnly.ok && modelOnly.policy.vendors).toBe(undefined);
  });

  it('refuses a vendor the parent lacks, and a pattern outside the parent patterns of the same vendor', () => {
    expect(derive({ vendors: ['openai', 'twilio'], allowed_endpoints: ['openai:GET /v1/models', 'twilio:POST /x'] })).toMatchObject({
      ok: false,
      problems: expect.arrayContaining(["vendors: twilio is not one of the parent's vendors (stripe, openai)"]),
    });
    // the path is allowed for openai, not for stripe: containment is per vendor
    const crossed = derive({ allowed_endpoints: ['stripe:POST /v1/chat/completions'] });
    expect(crossed.ok).toBe(false);
    expect(!crossed.ok && crossed.problems[0]).toContain('"stripe:POST /v1/chat/completions" is not inside any of the parent\'s patterns');
  });

  it('may lower the default output bound, never raise it', () => {
    expect(derive({ openai: { default_max_output_tokens: 500 } })).toMatchObject({ ok: true, policy: { openai: { defaultMaxOutputTokens: 500 } } });
    expect(derive({ openai: { default_max_output_tokens: 2000 } })).toMatchObject({ ok: false, problems: ["openai.default_max_output_tokens: 2000 is above the parent's 1000"] });
  });
});
