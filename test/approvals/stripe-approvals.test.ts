/**
 * Human approval through stripe-node and a real keyleash: a call above the policy's threshold waits
 * with its cost reserved until an admin approves (sent, settled), denies (keyleash_approval_denied)
 * or the timeout passes (keyleash_approval_timeout), the reservation released on either; concurrent
 * held calls each hold their own cost once; the decision survives a restart and a client that hung
 * up gets it by retrying with the same Idempotency-Key, never a second approval; the alerts webhook
 * hears of every waiting call.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditOf, sdk, sdkError, spendMicros } from '../stripe/harness.ts';
import { adminApi, startKeyleash, type KeyleashProcess } from '../support/keyleash-process.ts';
import { startWebhookReceiver, waitFor, type WebhookReceiver } from '../support/webhook-receiver.ts';
import { startFakeStripe, type FakeStripe } from '../upstreams/stripe/server.ts';

const USD = 1_000_000;
const SECRET = `sk_test_REALapprove${randomBytes(8).toString('hex')}`;
const WEBHOOK_SECRET = `whsec_${randomBytes(12).toString('hex')}`;
const ADMIN_TOKEN = `kla_approve_${randomBytes(8).toString('hex')}`;
const STORE = `sqlite:${join(mkdtempSync(join(tmpdir(), 'keyleash-approvals-')), 'keyleash.db')}`;

let upstream: FakeStripe;
let receiver: WebhookReceiver;
let keyleash: KeyleashProcess;
const stack = {
  get api() {
    return adminApi(keyleash);
  },
};

const start = () =>
  startKeyleash({ storeUrl: STORE, adminToken: ADMIN_TOKEN, upstreams: { 'api.stripe.com': upstream.url }, env: { STRIPE_SECRET_KEY: SECRET, KEYLEASH_WEBHOOK_SECRET: WEBHOOK_SECRET } });

beforeAll(async () => {
  upstream = await startFakeStripe({ secret: SECRET });
  receiver = await startWebhookReceiver(WEBHOOK_SECRET);
  keyleash = await start();
});

afterAll(async () => {
  await keyleash?.stop();
  await receiver?.close();
  await upstream?.close();
});

function issue(approval: { above_usd: number; timeout: string }, policy: Record<string, unknown> = {}) {
  return stack.api.issue({
    vendor: 'stripe',
    daily_usd_cap: 1000,
    allowed_endpoints: ['POST /v1/payment_intents'],
    expires_in: '1h',
    metadata: { role: 'approver-test' },
    approval,
    alerts: { thresholds: [1], webhook_url: receiver.url },
    ...policy,
  });
}

const creates = () => upstream.requests.filter((r) => r.method === 'POST' && r.path === '/v1/payment_intents').length;

async function pendingFor(keyId: string, count = 1): Promise<any[]> {
  let found: any[] = [];
  await waitFor(async () => {
    found = ((await stack.api.call('GET', '/api/approvals?status=pending')).body.data as any[]).filter((a) => a.vault_key_id === keyId);
    return found.length >= count;
  }, 20_000, `${count} pending approval(s) for ${keyId}`);
  return found;
}

describe('calls above the threshold wait for a human', () => {
  it('a call under the threshold is not held; one above is held with its cost reserved, and sent once approved', async () => {
    const key = await issue({ above_usd: 50, timeout: '30s' });
    const stripe = sdk(keyleash.url, key.vault_key);
    await stripe.paymentIntents.create({ amount: 5000, currency: 'usd' });
    const before = creates();

    const call = stripe.paymentIntents.create({ amount: 12_000, currency: 'usd' });
    const [pending] = await pendingFor(key.id);
    expect(pending).toMatchObject({ status: 'pending', amount_usd: 120, method: 'POST', path: '/v1/payment_intents', metadata: { role: 'approver-test' } });
    expect(await spendMicros(stack, key.id)).toBe(170 * USD);
    expect(creates()).toBe(before);
    // the webhook hears about it, signed
    await waitFor(() => receiver.deliveries.some((d) => d.body.type === 'approval.pending' && d.body.data.id === pending.id), 20_000, 'approval notice');
    expect(receiver.deliveries.find((d) => d.body.data.id === pending.id)!.verified).toBe(true);

    const approved = await stack.api.call('POST', `/api/approvals/${pending.id}/approve`);
    expect(approved).toMatchObject({ status: 200, body: { status: 'approved' } });
    const intent = await call;
    expect(intent.amount).toBe(12_000);
    expect(creates()).toBe(before + 1);
    expect(await spendMicros(stack, key.id)).toBe(170 * USD);
    expect((await stack.api.call('GET', '/api/approvals')).body.data.find((a: any) => a.id === pending.id).status).toBe('forwarded');
    expect((await auditOf(stack, key.id)).at(-1)).toMatchObject({ decision: 'allowed', status: 200, settled_micros: 120 * USD });
    // a second decision is refused
    expect((await stack.api.call('POST', `/api/approvals/${pending.id}/deny`)).status).toBe(409);
  });

  it('raising a counted intent above the threshold is held too, judged at what it lets move, and sent once approved', async () => {
    const key = await issue({ above_usd: 50, timeout: '30s' }, { allowed_endpoints: ['POST /v1/payment_intents', 'POST /v1/payment_intents/*'] });
    const stripe = sdk(keyleash.url, key.vault_key);
    const intent = await stripe.paymentIntents.create({ amount: 4_000, currency: 'usd' });
    const updates = () => upstream.requests.filter((r) => r.method === 'POST' && r.path === `/v1/payment_intents/${intent.id}`).length;
    // the raise adds only $20 to what the tree counted, but lets the intent move $60: above $50, so held
    const call = stripe.paymentIntents.update(intent.id, { amount: 6_000 });
    const [pending] = await pendingFor(key.id);
    // the approval shows what is reserved for it: the $20 increase
    expect(pending).toMatchObject({ status: 'pending', amount_usd: 20 });
    expect(await spendMicros(stack, key.id)).toBe(60 * USD);
    expect(updates()).toBe(0);
    await stack.api.call('POST', `/api/approvals/${pending.id}/approve`);
    expect((await call).amount).toBe(6_000);
    expect(updates()).toBe(1);
    expect(await spendMicros(stack, key.id)).toBe(60 * USD);
  });

  it('a denied call raises keyleash_approval_denied, reaches no upstream, and its reservation is released', async () => {
    const key = await issue({ above_usd: 50, timeout: '30s' });
    const before = creates();
    const call = sdkError(sdk(keyleash.url, key.vault_key).paymentIntents.create({ amount: 9000, currency: 'usd' }));
    const [pending] = await pendingFor(key.id);
    expect(await spendMicros(stack, key.id)).toBe(90 * USD);
    expect((await stack.api.call('POST', `/api/approvals/${pending.id}/deny`)).body.status).toBe('denied');
    const error = await call;
    expect(error).toBeInstanceOf(Stripe.errors.StripePermissionError);
    expect(error.code).toBe('keyleash_approval_denied');
    expect(error.message).toContain(pending.id);
    expect(creates()).toBe(before);
    expect(await spendMicros(stack, key.id)).toBe(0);
    const reasons = (await auditOf(stack, key.id)).map((row) => row.reason);
    expect(reasons).toEqual(expect.arrayContaining(['approval_denied_released', 'keyleash_approval_denied']));
  });

  it('an undecided call raises keyleash_approval_timeout after the timeout, released', async () => {
    const key = await issue({ above_usd: 50, timeout: '2s' });
    const started = Date.now();
    const error = await sdkError(sdk(keyleash.url, key.vault_key).paymentIntents.create({ amount: 9000, currency: 'usd' }));
    expect(error.code).toBe('keyleash_approval_timeout');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    expect(await spendMicros(stack, key.id)).toBe(0);
    const [approval] = (await stack.api.call('GET', '/api/approvals')).body.data.filter((a: any) => a.vault_key_id === key.id);
    expect(approval.status).toBe('timed_out');
    expect((await stack.api.call('POST', `/api/approvals/${approval.id}/approve`)).status).toBe(409);
  });

  it('concurrent held calls each reserve their cost once: beyond the cap they are refused, not held', async () => {
    const key = await issue({ above_usd: 50, timeout: '30s' }, { daily_usd_cap: 250 });
    const stripe = sdk(keyleash.url, key.vault_key);
    const calls = Array.from({ length: 5 }, () => stripe.paymentIntents.create({ amount: 10_000, currency: 'usd' }).then((pi) => pi, (e: unknown) => e));
    const pending = await pendingFor(key.id, 2);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await pendingFor(key.id)).toHaveLength(2);
    expect(await spendMicros(stack, key.id)).toBe(200 * USD);
    for (const approval of pending) expect((await stack.api.call('POST', `/api/approvals/${approval.id}/approve`)).status).toBe(200);
    const outcomes = await Promise.all(calls);
    expect(outcomes.filter((o) => o instanceof Stripe.errors.StripeError).map((o) => (o as Stripe.errors.StripeError).code)).toEqual(Array(3).fill('keyleash_daily_cap_reached'));
    expect(outcomes.filter((o) => !(o instanceof Error))).toHaveLength(2);
    expect(await spendMicros(stack, key.id)).toBe(200 * USD);
  });

  it('a decision survives a restart: the client that hung up retries with the same Idempotency-Key and gets the approved call, sent once', async () => {
    const key = await issue({ above_usd: 50, timeout: '60s' });
    const idempotencyKey = `approve-restart-${randomBytes(6).toString('hex')}`;
    const impatient = new Stripe(key.vault_key, { host: '127.0.0.1', port: keyleash.port, protocol: 'http', maxNetworkRetries: 0, telemetry: false, timeout: 1500 });
    const dropped = await sdkError(impatient.paymentIntents.create({ amount: 15_000, currency: 'usd' }, { idempotencyKey }));
    expect(dropped).toBeInstanceOf(Stripe.errors.StripeConnectionError);
    const [pending] = await pendingFor(key.id);
    const before = creates();

    await keyleash.stop();
    keyleash = await start();
    expect((await stack.api.call('POST', `/api/approvals/${pending.id}/approve`)).status).toBe(200);

    const retried = await sdk(keyleash.url, key.vault_key).paymentIntents.create({ amount: 15_000, currency: 'usd' }, { idempotencyKey });
    expect(retried.amount).toBe(15_000);
    const again = await sdk(keyleash.url, key.vault_key).paymentIntents.create({ amount: 15_000, currency: 'usd' }, { idempotencyKey });
    expect(again.id).toBe(retried.id);
    expect(creates()).toBe(before + 2); // the vendor replays the second from its idempotency cache
    const mine = (await stack.api.call('GET', '/api/approvals')).body.data.filter((a: any) => a.vault_key_id === key.id);
    expect(mine).toHaveLength(1);
    expect(mine[0].status).toBe('forwarded');
    expect(await spendMicros(stack, key.id)).toBe(150 * USD);
  });

  it('two concurrent requests with one Idempotency-Key share one approval and one count; another call under that key is refused', async () => {
    const key = await issue({ above_usd: 50, timeout: '30s' });
    const idempotencyKey = `twins-${randomBytes(6).toString('hex')}`;
    const stripe = sdk(keyleash.url, key.vault_key);
    const twins = [0, 1].map(() => stripe.paymentIntents.create({ amount: 8000, currency: 'usd' }, { idempotencyKey }));
    const [pending] = await pendingFor(key.id);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await pendingFor(key.id)).toHaveLength(1);
    expect(await spendMicros(stack, key.id)).toBe(80 * USD);
    const other = await sdkError(stripe.paymentIntents.create({ amount: 900_000, currency: 'usd' }, { idempotencyKey }));
    expect(other.code).toBe('keyleash_ambiguous_request');
    expect(other.message).toContain(pending.id);
    await stack.api.call('POST', `/api/approvals/${pending.id}/approve`);
    const [a, b] = await Promise.all(twins);
    expect(a!.id).toBe(b!.id);
    expect(await spendMicros(stack, key.id)).toBe(80 * USD);
  });

  it('a denied call stays denied for a retry with the same Idempotency-Key', async () => {
    const key = await issue({ above_usd: 50, timeout: '60s' });
    const idempotencyKey = `deny-retry-${randomBytes(6).toString('hex')}`;
    const first = sdkError(sdk(keyleash.url, key.vault_key).paymentIntents.create({ amount: 9000, currency: 'usd' }, { idempotencyKey }));
    const [pending] = await pendingFor(key.id);
    await stack.api.call('POST', `/api/approvals/${pending.id}/deny`);
    expect((await first).code).toBe('keyleash_approval_denied');
    const retry = await sdkError(sdk(keyleash.url, key.vault_key).paymentIntents.create({ amount: 9000, currency: 'usd' }, { idempotencyKey }));
    expect(retry.code).toBe('keyleash_approval_denied');
    expect((await stack.api.call('GET', '/api/approvals')).body.data.filter((a: any) => a.vault_key_id === key.id)).toHaveLength(1);
  });
});

describe('approval settings in derivation', () => {
  it('a child may tighten the approval, not drop or loosen it', async () => {
    const parent = await issue({ above_usd: 50, timeout: '60s' });
    expect((await stack.api.derive(parent.vault_key, { approval: { above_usd: 20, timeout: '30s' } })).policy).toMatchObject({ approval: { above_usd: 20, timeout: '30s' } });
    const looser = await stack.api.call('POST', '/api/vault_keys', { parent_vault_key: parent.vault_key, approval: { above_usd: 80, timeout: '120s' } }, null);
    expect(looser.status).toBe(403);
    expect(looser.body.error.problems).toEqual([expect.stringContaining('approval.above_usd'), expect.stringContaining('approval.timeout')]);
  });
});
