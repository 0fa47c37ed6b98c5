/**
 * No secret leaks: after traffic of every kind (allowed, refused, upstream 4xx/5xx, unreachable
 * upstream, failed lookups, forged keys), neither the real Stripe secret nor any vault key's secret
 * part appears in keyleash's output, its audit rows, its management API answers, or any error body.
 */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { raw, sdk, startStripeStack, vaultKeySecret, type StripeStack } from './harness.ts';

let stack: StripeStack;
/** every body an agent or an operator got back from keyleash in this file */
const seenBodies: string[] = [];
const vaultKeys: string[] = [];

/** a port nothing listens on, for an unreachable upstream */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  stack = await startStripeStack({
    label: 'leak',
    env: { KEYLEASH_LOG_LEVEL: 'trace' },
    upstreams: { 'files.stripe.com': `http://127.0.0.1:${await deadPort()}` },
  });
});
afterAll(async () => {
  await stack?.stop();
});

async function issue(policy: Record<string, unknown> = {}) {
  const key = await stack.api.issue({
    vendor: 'stripe',
    daily_usd_cap: 50,
    allowed_endpoints: ['POST /v1/payment_intents', 'POST /v1/payment_intents/*/confirm', 'POST /v1/refunds', 'POST /v1/files', 'GET /v1/customers'],
    expires_in: '1h',
    metadata: { role: 'leak-check' },
    ...policy,
  });
  vaultKeys.push(key.vault_key);
  return key;
}

async function collect(call: Promise<unknown>) {
  try {
    const value = await call;
    seenBodies.push(JSON.stringify(value));
  } catch (error) {
    const e = error as { raw?: unknown; message?: string };
    seenBodies.push(JSON.stringify(e.raw ?? null), String(e.message));
  }
}

function assertNoSecrets(where: string, text: string) {
  expect(text.includes(stack.secret), `${where} contains the real Stripe secret`).toBe(false);
  for (const vaultKey of vaultKeys) {
    expect(text.includes(vaultKeySecret(vaultKey)), `${where} contains a vault key secret`).toBe(false);
  }
}

describe('no secret in logs, audit rows, management answers or error bodies', () => {
  it('runs traffic of every kind', async () => {
    const key = await issue();
    const stripe = sdk(stack.keyleash.url, key.vault_key);
    const intent = await stripe.paymentIntents.create({ amount: 1000, currency: 'usd' });
    seenBodies.push(JSON.stringify(intent));
    await collect(stripe.paymentIntents.confirm(intent.id, { payment_method: 'pm_card_visa' }));
    await collect(stripe.refunds.create({ payment_intent: intent.id, amount: 200 }));
    await collect(stripe.refunds.create({ payment_intent: 'pi_doesNotExist' })); // failed lookup
    await collect(stripe.paymentIntents.create({ amount: 99_999, currency: 'usd' })); // over the cap
    await collect(stripe.customers.create({})); // not allowed
    await collect(stripe.paymentIntents.create({ amount: 10, currency: 'usd' })); // Stripe 400
    stack.upstream.inject({ method: 'POST', pathPrefix: '/v1/payment_intents', status: 500 });
    await collect(stripe.paymentIntents.create({ amount: 500, currency: 'usd' })); // Stripe 500
    await collect(stripe.paymentIntents.create({ amount: 500, currency: 'usd' }, { stripeAccount: 'acct_1NotMine' }));

    // an upload to an unreachable files.stripe.com (logged as an upstream failure)
    const upload = await raw(stack.keyleash.url, {
      method: 'POST',
      path: '/v1/files',
      headers: { authorization: `Bearer ${key.vault_key}`, 'content-type': 'multipart/form-data; boundary=x' },
      body: '--x\r\nContent-Disposition: form-data; name="purpose"\r\n\r\ndispute_evidence\r\n--x--\r\n',
    });
    expect(upload.status).toBe(502);
    seenBodies.push(upload.text);

    // forged and misused credentials
    const forged = `${key.vault_key.slice(0, key.vault_key.lastIndexOf('_') + 1)}${'b'.repeat(40)}`;
    await collect(sdk(stack.keyleash.url, forged).paymentIntents.create({ amount: 500, currency: 'usd' }));
    await collect(sdk(stack.keyleash.url, stack.secret).paymentIntents.create({ amount: 500, currency: 'usd' }));
    const mangled = `${key.vault_key}x`;
    await collect(sdk(stack.keyleash.url, mangled).paymentIntents.create({ amount: 500, currency: 'usd' }));

    // a revoked key
    const revoked = await issue();
    await stack.api.call('POST', `/api/vault_keys/${revoked.id}/revoke`);
    await collect(sdk(stack.keyleash.url, revoked.vault_key).paymentIntents.create({ amount: 500, currency: 'usd' }));

    // path and body tricks
    for (const path of ['/v1/payment_intents/../x', '/v1//payment_intents', '/V1/payment_intents', '/v1/payment_intents?amount=1']) {
      const answer = await raw(stack.keyleash.url, {
        method: 'POST',
        path,
        headers: { authorization: `Bearer ${key.vault_key}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'amount=100&amount=200&currency=usd',
      });
      expect(answer.status).toBeGreaterThanOrEqual(400);
      seenBodies.push(answer.text);
    }

    // a child key derived with a wrong parent secret, and an admin call made with a vault key
    const badDerive = await stack.api.call('POST', '/api/vault_keys', { parent_vault_key: forged, daily_usd_cap: 1 }, null);
    expect(badDerive.status).toBe(401);
    seenBodies.push(JSON.stringify(badDerive.body));
    const vaultAsAdmin = await stack.api.call('GET', '/api/vault_keys', undefined, key.vault_key);
    expect(vaultAsAdmin.status).toBe(403);
    seenBodies.push(JSON.stringify(vaultAsAdmin.body));

    expect(seenBodies.length).toBeGreaterThan(15);
  });

  it('keyleash’s own output (stdout and stderr, at trace level) holds no secret', () => {
    const output = stack.keyleash.output();
    expect(output).toContain('keyleash listening on');
    expect(output).toMatch(/upstream request failed|pricing failed/); // the failures above were logged…
    assertNoSecrets('keyleash output', output); // …without a secret
  });

  it('no audit row holds a secret', async () => {
    const rows = await stack.api.audit();
    expect(rows.length).toBeGreaterThan(15);
    for (const row of rows) assertNoSecrets(`audit row ${row.seq}`, JSON.stringify(row));
  });

  it('no error body an agent received holds a secret', () => {
    for (const [i, body] of seenBodies.entries()) assertNoSecrets(`response body #${i}`, body);
  });

  it('no management API answer or metrics page holds a secret', async () => {
    const answers = await Promise.all(
      ['/api/vault_keys', ...vaultKeys.map((vk) => `/api/vault_keys/${vk.split('_')[1]}`), '/api/spend?group_by=vault_key', '/api/spend?group_by=metadata.role', '/api/audit/verify'].map((path) => stack.api.call('GET', path)),
    );
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      assertNoSecrets('management answer', JSON.stringify(answer.body));
    }
    const metrics = await fetch(`${stack.keyleash.url}/metrics`);
    assertNoSecrets('metrics', await metrics.text());
  });

  it('the upstream never saw a vault key', () => {
    for (const request of stack.upstream.requests) {
      const text = `${request.url} ${JSON.stringify(request.headers)} ${request.rawBody}`;
      for (const vaultKey of vaultKeys) expect(text.includes(vaultKeySecret(vaultKey))).toBe(false);
    }
  });
});
