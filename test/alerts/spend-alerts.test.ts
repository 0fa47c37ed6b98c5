/**
 * Spend alerts through real `keyleash serve` processes and the official Stripe SDK: many
 * concurrent calls cross each threshold of a key's daily cap, and exactly one alert per key, day
 * and threshold is recorded and delivered, signed, to a local webhook that refuses the first
 * attempt of each (so each is retried). On SQLite with one process, and on PostgreSQL with two
 * instances sharing the ledger.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminApi, startKeyleash, type KeyleashProcess } from '../support/keyleash-process.ts';
import { stripeThrough } from '../support/stripe-client.ts';
import { startWebhookReceiver, waitFor, type WebhookReceiver } from '../support/webhook-receiver.ts';
import { createTestSchema, type TestSchema } from '../postgres/pg-test-schema.ts';
import { startFakeStripe, type FakeStripe } from '../upstreams/stripe/server.ts';

const STRIPE_SECRET = `sk_test_REALalerts${randomBytes(8).toString('hex')}`;
const WEBHOOK_SECRET = `whsec_${randomBytes(16).toString('hex')}`;
const ADMIN_TOKEN = `kla_alerts_${randomBytes(8).toString('hex')}`;

interface Stack {
  upstream: FakeStripe;
  receiver: WebhookReceiver;
  instances: KeyleashProcess[];
  schema?: TestSchema;
}

function useStack(storeUrl: (() => Promise<{ url: string; schema?: TestSchema }>) | undefined, instanceCount: number, extraArgs: (receiver: WebhookReceiver) => string[] = () => []): Stack {
  const stack = {} as Stack;
  beforeAll(async () => {
    stack.upstream = await startFakeStripe({ secret: STRIPE_SECRET });
    stack.receiver = await startWebhookReceiver(WEBHOOK_SECRET, { failFirst: 1 });
    const store = storeUrl ? await storeUrl() : undefined;
    stack.schema = store?.schema;
    stack.instances = await Promise.all(
      Array.from({ length: instanceCount }, () =>
        startKeyleash({
          ...(store ? { storeUrl: store.url } : {}),
          adminToken: ADMIN_TOKEN,
          upstreams: { 'api.stripe.com': stack.upstream.url },
          env: { STRIPE_SECRET_KEY: STRIPE_SECRET, KEYLEASH_WEBHOOK_SECRET: WEBHOOK_SECRET, KEYLEASH_ALERT_RETRY_BASE_MS: '200' },
          extraArgs: extraArgs(stack.receiver),
        }),
      ),
    );
  });
  afterAll(async () => {
    await Promise.all((stack.instances ?? []).map((instance) => instance.stop()));
    await stack.receiver?.close();
    await stack.upstream?.close();
    await stack.schema?.drop();
  });
  return stack;
}

/** A PaymentIntent key with a $10 daily cap, through instance `via`. */
function issueTenDollarKey(stack: Stack, policy: Record<string, unknown>, via = 0) {
  return adminApi(stack.instances[via]!).issue({ vendor: 'stripe', daily_usd_cap: 10, allowed_endpoints: ['POST /v1/payment_intents'], expires_in: '1h', ...policy });
}

/** 60 concurrent $0.50 creates against a $10 daily cap, spread over the instances: 20 fit. */
async function crossEveryThreshold(stack: Stack, vaultKey: string) {
  const outcomes = await Promise.allSettled(
    Array.from({ length: 60 }, (_, i) => stripeThrough(stack.instances[i % stack.instances.length]!.url, vaultKey).paymentIntents.create({ amount: 50, currency: 'usd' })),
  );
  expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(20);
}

async function expectOneDeliveredAlertPerThreshold(stack: Stack, keyId: string, thresholds: number[]) {
  const api = adminApi(stack.instances[0]!);
  const listed = async () => (await api.call('GET', `/api/alerts?vault_key_id=${keyId}`)).body.data as any[];
  await waitFor(async () => (await listed()).filter((a) => a.status === 'delivered').length === thresholds.length, 30_000, 'every alert delivered');
  const alerts = await listed();
  expect(alerts.map((a) => a.threshold).sort()).toEqual(thresholds);
  for (const alert of alerts) {
    expect(alert).toMatchObject({ kind: 'spend_threshold', vault_key_id: keyId, status: 'delivered', attempts: 2, last_error: null });
    expect(alert.payload).toMatchObject({ id: alert.id, type: 'spend.threshold_crossed', data: { vault_key_id: keyId, daily_usd_cap: 10, threshold: alert.threshold } });
    expect(alert.payload.data.spent_usd_today).toBeGreaterThanOrEqual(10 * alert.threshold);
  }
  // each alert: one refused attempt, then exactly one accepted; every attempt carried a valid signature
  const ids = alerts.map((a) => a.id).sort();
  const mine = stack.receiver.deliveries.filter((d) => ids.includes(d.alertId));
  expect(mine.every((d) => d.verified)).toBe(true);
  expect(stack.receiver.accepted().filter((id) => ids.includes(id)).sort()).toEqual(ids);
  expect(mine.filter((d) => d.answered === 500).map((d) => d.alertId).sort()).toEqual(ids);
}

describe('on SQLite, one keyleash', () => {
  const stack = useStack(undefined, 1);

  it('concurrent calls crossing 50 %, 80 % and 100 % of the cap record and deliver one signed alert each, after a retry', async () => {
    const key = await issueTenDollarKey(stack, { metadata: { role: 'alerted' }, alerts: { thresholds: [0.5, 0.8, 1], webhook_url: stack.receiver.url } });
    await crossEveryThreshold(stack, key.vault_key);
    await expectOneDeliveredAlertPerThreshold(stack, key.id, [0.5, 0.8, 1]);
    expect(stack.receiver.deliveries.find((d) => d.answered === 204)!.body.data.metadata).toEqual({ role: 'alerted' });
  });

  it('a child’s spend crosses its parent’s threshold; the child may not point alerts elsewhere', async () => {
    const api = adminApi(stack.instances[0]!);
    const parent = await issueTenDollarKey(stack, { alerts: { thresholds: [0.5], webhook_url: stack.receiver.url } });
    const elsewhere = await api.call('POST', '/api/vault_keys', { parent_vault_key: parent.vault_key, alerts: { thresholds: [0.5], webhook_url: 'http://10.0.0.1/internal' } }, null);
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.body.error.problems.join()).toContain('alerts.webhook_url');
    const child = await api.derive(parent.vault_key, { daily_usd_cap: 6, alerts: { thresholds: [0.9] } });
    expect(child.policy).toMatchObject({ alerts: { thresholds: [0.9], webhook_url: stack.receiver.url } });
    await stripeThrough(stack.instances[0]!.url, child.vault_key).paymentIntents.create({ amount: 550, currency: 'usd' });
    const listed = async () => (await api.call('GET', '/api/alerts')).body.data as any[];
    await waitFor(async () => (await listed()).filter((a) => [parent.id, child.id].includes(a.vault_key_id) && a.status === 'delivered').length === 2, 30_000, 'two alerts');
    const alerts = (await listed()).filter((a) => [parent.id, child.id].includes(a.vault_key_id));
    expect(alerts.map((a) => [a.vault_key_id, a.threshold]).sort()).toEqual([[child.id, 0.9], [parent.id, 0.5]].sort());
  });

  it('GET /api/alerts needs the admin token', async () => {
    const answer = await adminApi(stack.instances[0]!).call('GET', '/api/alerts', undefined, null);
    expect(answer.status).toBe(401);
  });
});

describe('on PostgreSQL, two keyleash instances on one ledger, server-wide thresholds', () => {
  const stack = useStack(
    async () => {
      const schema = await createTestSchema({ prefix: 'kl_alerts' });
      return { url: `${schema.storeUrl}&pool_max=6`, schema };
    },
    2,
    (receiver) => ['--alert-thresholds', '0.5,0.8,1', '--alert-webhook-url', receiver.url],
  );

  it('calls through both instances crossing each threshold record and deliver one alert each', async () => {
    const key = await issueTenDollarKey(stack, {}, 1);
    await crossEveryThreshold(stack, key.vault_key);
    await expectOneDeliveredAlertPerThreshold(stack, key.id, [0.5, 0.8, 1]);
  });
});
