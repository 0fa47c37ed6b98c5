/**
 * The management API reports what was done: audit filters (key, metadata, decision, time window),
 * spend grouped by key, metadata field and key tree, and invalid requests answered with every
 * problem named and no stack trace.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { sdk, sdkError, sleep, useStripeStack } from './harness.ts';

const stack = useStripeStack({ label: 'report' });

let billing: { id: string; vault_key: string };
let support: { id: string; vault_key: string };
/** an instant after the first batch of traffic and before the second */
let between: string;

const ALLOW = ['POST /v1/payment_intents', 'GET /v1/customers'];

beforeAll(async () => {
  billing = await stack.api.issue({ vendor: 'stripe', daily_usd_cap: 30, allowed_endpoints: ALLOW, expires_in: '1h', metadata: { role: 'billing', customer_id: 'cus_A' } });
  support = await stack.api.issue({ vendor: 'stripe', daily_usd_cap: 100, allowed_endpoints: ALLOW, expires_in: '1h', metadata: { role: 'support', customer_id: 'cus_B' } });
  const billingSdk = sdk(stack.keyleash.url, billing.vault_key);
  const supportSdk = sdk(stack.keyleash.url, support.vault_key);

  // batch 1: billing spends $25 in two payments and is refused once; support reads once
  await billingSdk.paymentIntents.create({ amount: 1000, currency: 'usd' });
  await billingSdk.paymentIntents.create({ amount: 1500, currency: 'usd' });
  await sdkError(billingSdk.paymentIntents.create({ amount: 1000, currency: 'usd' }));
  await supportSdk.customers.list({ limit: 1 });

  await sleep(20);
  between = new Date().toISOString();
  await sleep(20);

  // batch 2: support spends $12.34 and is refused once (endpoint)
  await supportSdk.paymentIntents.create({ amount: 1234, currency: 'usd' });
  await sdkError(supportSdk.refunds.create({ payment_intent: 'pi_x' }));
});

const summary = (rows: any[]) => rows.map((r) => `${r.vault_key_id === billing.id ? 'billing' : 'support'} ${r.method} ${r.path} ${r.decision}`).reverse();

describe('GET /api/audit filters', () => {
  it('returns every request, newest first, with costs and reasons', async () => {
    const rows = await stack.api.audit();
    expect(rows.length).toBe(6);
    expect(rows.map((r) => r.seq)).toEqual([...rows.map((r) => r.seq)].sort((a, b) => b - a));
    expect(rows.find((r) => r.reason === 'keyleash_daily_cap_reached')).toMatchObject({ vault_key_id: billing.id, status: 403, decision: 'refused', reserved_micros: 0 });
  });

  it('filters by vault_key_id', async () => {
    expect(summary(await stack.api.audit(`vault_key_id=${billing.id}`))).toEqual([
      'billing POST /v1/payment_intents allowed',
      'billing POST /v1/payment_intents allowed',
      'billing POST /v1/payment_intents refused',
    ]);
  });

  it('filters by a metadata field', async () => {
    const rows = await stack.api.audit('metadata.role=support');
    expect(rows.length).toBe(3);
    for (const row of rows) expect(row.metadata).toEqual({ role: 'support', customer_id: 'cus_B' });
    expect((await stack.api.audit('metadata.customer_id=cus_A')).length).toBe(3);
    expect((await stack.api.audit('metadata.role=support&metadata.customer_id=cus_A')).length).toBe(0);
  });

  it('filters by decision', async () => {
    expect(summary(await stack.api.audit('decision=refused'))).toEqual(['billing POST /v1/payment_intents refused', 'support POST /v1/refunds refused']);
    expect((await stack.api.audit('decision=allowed')).length).toBe(4);
  });

  it('filters by since and until', async () => {
    expect(summary(await stack.api.audit(`since=${encodeURIComponent(between)}`))).toEqual(['support POST /v1/payment_intents allowed', 'support POST /v1/refunds refused']);
    expect((await stack.api.audit(`until=${encodeURIComponent(between)}`)).length).toBe(4);
    expect((await stack.api.audit(`since=${encodeURIComponent(between)}&vault_key_id=${billing.id}`)).length).toBe(0);
  });

  it('answers 400 for a filter it cannot read', async () => {
    for (const query of ['decision=maybe', 'since=yesterday', 'limit=0', 'metadata.bad%20field=x']) {
      const answer = await stack.api.call('GET', `/api/audit?${query}`);
      expect(answer.status, query).toBe(400);
      expect(answer.body.error.code).toBe('invalid_filter');
    }
  });
});

describe('GET /api/spend', () => {
  it('groups by vault key', async () => {
    const answer = await stack.api.call('GET', '/api/spend?group_by=vault_key');
    expect(answer.status).toBe(200);
    expect(answer.body.total_micros).toBe(25_000_000 + 12_340_000);
    const byKey = Object.fromEntries(answer.body.data.map((row: any) => [row.group, row.micros]));
    expect(byKey).toEqual({ [billing.id]: 25_000_000, [support.id]: 12_340_000 });
  });

  it('groups by a metadata field', async () => {
    const answer = await stack.api.call('GET', '/api/spend?group_by=metadata.role');
    const byRole = Object.fromEntries(answer.body.data.map((row: any) => [row.group, row.usd]));
    expect(byRole).toEqual({ billing: 25, support: 12.34 });
    const byCustomer = await stack.api.call('GET', '/api/spend?group_by=metadata.customer_id');
    expect(byCustomer.body.data.map((row: any) => row.group).sort()).toEqual(['cus_A', 'cus_B']);
  });

  it('groups by key tree root, and a child’s spend lands in its root’s tree', async () => {
    const child = await stack.api.derive(support.vault_key, { daily_usd_cap: 10, allowed_endpoints: ['POST /v1/payment_intents'], metadata: { run_id: 'r-1' } });
    await sdk(stack.keyleash.url, child.vault_key).paymentIntents.create({ amount: 500, currency: 'usd' });
    const answer = await stack.api.call('GET', '/api/spend?group_by=root');
    const byRoot = Object.fromEntries(answer.body.data.map((row: any) => [row.group, row.micros]));
    expect(byRoot).toEqual({ [billing.id]: 25_000_000, [support.id]: 17_340_000 });
    const key = await stack.api.call('GET', `/api/vault_keys/${support.id}`);
    expect(key.body.spend.today_micros).toBe(17_340_000);
  });

  it('is empty for another day, and answers 400 for an unknown grouping or a bad day', async () => {
    const answer = await stack.api.call('GET', '/api/spend?group_by=vault_key&day=2001-01-01');
    expect(answer.status).toBe(200);
    expect(answer.body.data).toEqual([]);
    expect((await stack.api.call('GET', '/api/spend?group_by=colour')).status).toBe(400);
    expect((await stack.api.call('GET', '/api/spend?day=31-12-2025')).status).toBe(400);
  });
});

describe('invalid management requests', () => {
  it('a policy with many problems gets 400 naming every one of them, and no stack trace', async () => {
    const response = await fetch(`${stack.keyleash.url}/api/vault_keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.keyleash.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        vendor: 'paypal',
        daily_usd_cap: -5,
        allowed_endpoints: ['FETCH /v1/things', 'POST /v1/../admin'],
        expires_in: 'forever',
        rate_limit: { requests_per_minute: 0 },
        metadata: { 'bad field!': 'x' },
        colour: 'blue',
      }),
    });
    expect(response.status).toBe(400);
    const text = await response.text();
    const body = JSON.parse(text) as { error: { code: string; message: string; problems: string[] } };
    expect(body.error.code).toBe('invalid_policy');
    const problems = body.error.problems.join('\n');
    for (const field of ['vendor', 'daily_usd_cap', 'allowed_endpoints.0', 'allowed_endpoints.1', 'expires_in', 'rate_limit.requests_per_minute', 'metadata', 'colour']) {
      expect(problems, `a problem naming ${field}`).toContain(field);
    }
    expect(text).not.toMatch(/\bat .*\.(ts|js):\d+|node_modules|"stack"|ZodError/);
  });

  it('a body that is not JSON gets 400, and a missing expiry is named', async () => {
    const notJson = await fetch(`${stack.keyleash.url}/api/vault_keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.keyleash.adminToken}`, 'content-type': 'application/json' },
      body: '{"vendor": "stripe",',
    });
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: { code: string } }).error.code).toBe('invalid_json');

    const noExpiry = await stack.api.call('POST', '/api/vault_keys', { vendor: 'stripe', daily_usd_cap: 5, allowed_endpoints: ALLOW });
    expect(noExpiry.status).toBe(400);
    expect(noExpiry.body.error.problems.join(' ')).toMatch(/expires_in/);
  });

  it('the management API refuses a missing or wrong admin token', async () => {
    expect((await stack.api.call('GET', '/api/audit', undefined, null)).status).toBe(401);
    expect((await stack.api.call('GET', '/api/audit', undefined, 'kla_wrong')).status).toBe(401);
    expect((await stack.api.call('GET', '/api/spend', undefined, billing.vault_key)).status).toBe(403);
  });
});
