import { describe, expect, it } from 'vitest';
import { EMPTY_FORM, formToBody, validate, type IssueForm } from '../src/web/issue-form.ts';

const form = (patch: Partial<IssueForm>): IssueForm => ({ ...EMPTY_FORM, ...patch });

describe('the issue form', () => {
  it('turns the fields into the API request body, dropping unused suggested metadata', () => {
    const { body, formProblems } = formToBody(
      form({
        dailyCap: '50',
        totalCap: '500.5',
        endpoints: 'POST /v1/payment_intents\n\n  GET /v1/customers/*  \n',
        rateLimit: '120',
        metadata: [
          { name: 'role', value: 'billing' },
          { name: 'customer_id', value: '' },
          { name: 'run_id', value: 'r-42' },
        ],
        unpriced: 'POST /v1/invoices/*/pay = free\nPOST /v1/subscriptions = 0.5',
        stripeAccounts: 'acct_1, acct_2',
      }),
    );
    expect(formProblems).toEqual([]);
    expect(body).toEqual({
      vendor: 'stripe',
      daily_usd_cap: 50,
      total_usd_cap: 500.5,
      allowed_endpoints: ['POST /v1/payment_intents', 'GET /v1/customers/*'],
      expires_in: '24h',
      rate_limit: { requests_per_minute: 120 },
      metadata: { role: 'billing', run_id: 'r-42' },
      unpriced: { 'POST /v1/invoices/*/pay': 'free', 'POST /v1/subscriptions': 0.5 },
      stripe_accounts: ['acct_1', 'acct_2'],
    });
    expect(validate(form({ dailyCap: '50', endpoints: 'POST /v1/payment_intents' })).ok).toBe(true);
  });

  it('sends a null daily cap when the key has none', () => {
    expect(formToBody(form({ noDailyCap: true, dailyCap: '10' })).body.daily_usd_cap).toBeNull();
  });

  it("reports the API schema's problems by field, in the API's words", () => {
    const result = validate(form({ dailyCap: 'lots', endpoints: 'FETCH /v1/charges', expiresIn: 'tomorrow', rateLimit: '0' }));
    expect(result.ok).toBe(false);
    expect(result.byField.get('daily_usd_cap')).toHaveLength(1);
    expect(result.byField.get('allowed_endpoints')![0]).toMatch(/^allowed_endpoints\.0: the endpoint pattern "FETCH \/v1\/charges"/);
    expect(result.byField.get('expires_in')![0]).toContain('expires_in is a duration like');
    expect(result.byField.get('rate_limit')).toHaveLength(1);
    expect(result.all.length).toBe(4);
  });

  it('asks for an endpoint and an expiry', () => {
    const result = validate(form({ dailyCap: '5', expiryMode: 'at', expiresAt: '' }));
    expect(result.byField.get('allowed_endpoints')).toEqual(['allowed_endpoints: allow at least one endpoint']);
    expect(result.byField.get('expires_at')).toHaveLength(1);
  });

  it('names lines it cannot read before the schema sees them', () => {
    const result = validate(form({ dailyCap: '5', endpoints: 'GET /v1/customers/*', unpriced: 'POST /v1/invoices/*/pay', metadata: [{ name: '', value: 'orphan' }] }));
    expect(result.byField.get('unpriced')).toEqual(['unpriced: "POST /v1/invoices/*/pay" is not "METHOD /path = free" or "METHOD /path = 0.50"']);
    expect(result.byField.get('metadata')).toEqual(['metadata: the value "orphan" needs a field name']);
  });
});

describe('the issue form for a twilio key', () => {
  it('sends the Twilio pricing settings that were filled in, checked by the schema', () => {
    const twilio = { callTimeLimitSeconds: '600', smsPerSegment: '0.02', mmsPerMessage: '', voicePerMinute: '' };
    const result = validate(form({ vendor: 'twilio', dailyCap: '5', endpoints: 'POST /2010-04-01/Accounts/*/Messages.json', twilio }));
    expect(result.ok).toBe(true);
    expect(result.body.twilio).toEqual({ default_call_time_limit_seconds: 600, fallback_sms_usd_per_segment: 0.02 });
    const bad = validate(form({ vendor: 'twilio', dailyCap: '5', endpoints: 'POST /2010-04-01/Accounts/*/Messages.json', twilio: { ...twilio, callTimeLimitSeconds: '-1' } }));
    expect(bad.byField.get('twilio')).toHaveLength(1);
  });

  it('leaves Twilio settings out of a stripe key', () => {
    const twilio = { callTimeLimitSeconds: '600', smsPerSegment: '', mmsPerMessage: '', voicePerMinute: '' };
    expect(formToBody(form({ vendor: 'stripe', twilio })).body).not.toHaveProperty('twilio');
  });
});
