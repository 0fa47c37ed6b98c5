import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyleashAdmin, deriveChild, keyleashRefusalOf, revokeSelf, stripeFor } from '@keyleash/client';
import { startFakeStripe, type FakeStripe } from '../../../test/upstreams/stripe/server.ts';
import { startKeyleash, type KeyleashProcess } from '../../../test/support/keyleash-process.ts';

const SECRET = 'sk_test_REALSECRET_client_0123456789';
let upstream: FakeStripe;
let keyleash: KeyleashProcess;
let admin: KeyleashAdmin;

beforeAll(async () => {
  upstream = await startFakeStripe({ secret: SECRET });
  keyleash = await startKeyleash({
    upstreams: { 'api.stripe.com': upstream.url, 'files.stripe.com': upstream.url, 'connect.stripe.com': upstream.url },
    env: { STRIPE_SECRET_KEY: SECRET },
  });
  admin = new KeyleashAdmin({ proxyUrl: keyleash.url, adminToken: keyleash.adminToken });
});
afterAll(async () => {
  await keyleash?.stop();
  await upstream?.close();
});

describe('@keyleash/client', () => {
  it('stripeFor sends every Stripe host through the proxy with the vault key, and attribution reaches only the audit', async () => {
    const key = await admin.issueKey({
      vendor: 'stripe',
      daily_usd_cap: 50,
      allowed_endpoints: ['POST /v1/payment_intents', 'POST /v1/files', 'POST /oauth/token'],
      expires_in: '1h',
      metadata: { role: 'billing' },
    });
    let toolCallId = 'call_1';
    const stripe = stripeFor({ proxyUrl: keyleash.url, vaultKey: key.vault_key, attribution: () => ({ agent: 'billing', tool: 'charge', toolCallId }) });
    const intent = await stripe.paymentIntents.create({ amount: 1234, currency: 'usd' });
    expect(intent.amount).toBe(1234);
    toolCallId = 'call_2';
    await stripe.files.create({ purpose: 'dispute_evidence', file: { data: Buffer.from('evidence'), name: 'e.txt', type: 'application/octet-stream' } });

    for (const request of upstream.requests) {
      expect(request.headers.authorization).toBe(`Bearer ${SECRET}`);
      expect(Object.keys(request.headers).some((h) => h.startsWith('keyleash-'))).toBe(false);
    }
    const rows = await admin.audit({ vaultKeyId: key.id });
    expect(rows.map((r) => r.attribution.tool_call_id).sort()).toEqual(['call_1', 'call_2']);
    expect(rows.find((r) => r.path.includes('files'))!.path).toBe('/files.stripe.com/v1/files');
    expect((await admin.getKey(key.id)).spend!.today_usd).toBeCloseTo(12.34, 6);
  });

  it('deriveChild needs no admin token, and a refusal is recognisable as a keyleash refusal', async () => {
    const parent = await admin.issueKey({ vendor: 'stripe', daily_usd_cap: 10, allowed_endpoints: ['POST /v1/payment_intents'], expires_in: '1h' });
    const child = await deriveChild(parent.vault_key, { daily_usd_cap: 5, metadata: { role: 'sub' } }, { proxyUrl: keyleash.url });
    expect(child.parent_id).toBe(parent.id);
    const stripe = stripeFor({ proxyUrl: keyleash.url, vaultKey: child.vault_key });
    const error = await stripe.paymentIntents.create({ amount: 600, currency: 'usd' }).catch((e: unknown) => e);
    expect(keyleashRefusalOf(error)?.code).toBe('keyleash_daily_cap_reached');
    await expect(deriveChild(parent.vault_key, { daily_usd_cap: 20 }, { proxyUrl: keyleash.url })).rejects.toThrow(/above the parent/);
    const revoked = await revokeSelf(child.vault_key, { proxyUrl: keyleash.url });
    expect(revoked.revoked_ids).toEqual([child.id]);
    expect((await admin.getKey(parent.id)).status).toBe('active');
  });
});
