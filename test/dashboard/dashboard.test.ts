/**
 * The dashboard in real headless Chromium, against a real `keyleash serve` process in front of a
 * fake Stripe, with the official Stripe SDK making the proxied calls.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import Stripe from 'stripe';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { adminApi, startKeyleash, type KeyleashProcess } from '../support/keyleash-process.ts';
import { stripeThrough } from '../support/stripe-client.ts';
import { startFakeStripe, type FakeStripe } from '../upstreams/stripe/server.ts';
import { launchChromium, screenshot } from './chromium.ts';

const SECRET = `sk_test_REALdash${randomBytes(8).toString('hex')}`;
const WAIT = { timeout: 20_000 };

let upstream: FakeStripe;
let keyleash: KeyleashProcess;
let api: ReturnType<typeof adminApi>;
let browser: Browser;

beforeAll(async () => {
  upstream = await startFakeStripe({ secret: SECRET });
  keyleash = await startKeyleash({
    upstreams: { 'api.stripe.com': upstream.url, 'files.stripe.com': upstream.url, 'connect.stripe.com': upstream.url },
    env: { STRIPE_SECRET_KEY: SECRET },
  });
  api = adminApi(keyleash);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await keyleash?.stop();
  await upstream?.close();
});

async function refusalOf(call: Promise<unknown>): Promise<{ code: string | undefined; message: string }> {
  try {
    await call;
  } catch (error) {
    if (error instanceof Stripe.errors.StripeError) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('the call was expected to be refused');
}

describe('the dashboard without the admin token', () => {
  it('serves a shell and assets that hold no data, and only GET', async () => {
    const key = await api.issue({ vendor: 'stripe', daily_usd_cap: 10, allowed_endpoints: ['POST /v1/payment_intents'], expires_in: '1h', metadata: { role: 'secretive' } });
    const shell = await fetch(`${keyleash.url}/dashboard`);
    expect(shell.status).toBe(200);
    expect(shell.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await shell.text();
    expect(html).toContain('<div id="app">');
    const assets = [...html.matchAll(/(?:src|href)="(\/dashboard\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.some((a) => a.endsWith('.js'))).toBe(true);
    expect(assets.some((a) => a.endsWith('.css'))).toBe(true);
    for (const text of [html, ...(await Promise.all(assets.map(async (a) => (await fetch(`${keyleash.url}${a}`)).text())))]) {
      expect(text).not.toContain(key.id);
      expect(text).not.toContain('secretive');
      expect(text).not.toContain(keyleash.adminToken);
    }
    expect((await fetch(`${keyleash.url}/dashboard`, { method: 'POST', body: 'x' })).status).toBe(405);
    expect((await fetch(`${keyleash.url}/dashboard/api/vault_keys`)).status).toBe(404);
  });

  it('refuses every management API call the dashboard makes without the admin token, or with a wrong one or a vault key', async () => {
    const key = await api.issue({ vendor: 'stripe', daily_usd_cap: 10, allowed_endpoints: ['POST /v1/payment_intents'], expires_in: '1h' });
    const routes: [string, string, unknown?][] = [
      ['GET', '/api/vault_keys'],
      ['GET', `/api/vault_keys/${key.id}`],
      ['GET', `/api/vault_keys/${key.id}/tree`],
      ['GET', `/api/vault_keys/${key.id}/spend`],
      ['POST', `/api/vault_keys/${key.id}/revoke`],
      ['POST', '/api/vault_keys', { vendor: 'stripe', daily_usd_cap: 1, allowed_endpoints: ['GET /v1/customers/*'], expires_in: '1h' }],
      ['GET', '/api/audit?limit=1'],
      ['GET', `/api/audit?after_seq=0&vault_key_id=${key.id}`],
      ['GET', '/api/audit/verify'],
      ['GET', '/api/spend?group_by=metadata.role'],
    ];
    for (const [method, path, body] of routes) {
      expect((await api.call(method, path, body, null)).status, `${method} ${path} without a token`).toBe(401);
      expect((await api.call(method, path, body, 'not-the-admin-token')).status, `${method} ${path} with a wrong token`).toBe(401);
      expect((await api.call(method, path, body, key.vault_key)).status, `${method} ${path} with a vault key`).toBe(403);
    }
    expect((await api.call('GET', `/api/vault_keys/${key.id}`)).body.status).toBe('active');
  });

  it('shows the login form, keeps a wrong token out, and loads no data', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const apiStatuses: number[] = [];
    page.on('response', (r) => new URL(r.url()).pathname.startsWith('/api/') && apiStatuses.push(r.status()));
    await page.goto(`${keyleash.url}/dashboard#/keys`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor(WAIT);
    await page.getByLabel('Admin token').fill('kla_wrong_token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'not valid' }).waitFor(WAIT);
    await screenshot(page, 'login-refused');
    expect(await page.getByRole('heading', { name: 'Vault keys' }).count()).toBe(0);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    expect(apiStatuses.length).toBeGreaterThan(0);
    expect(apiStatuses.every((s) => s === 401)).toBe(true);
    expect(page.url()).not.toContain('kla_');
    await context.close();
  });
});

describe('the dashboard with the admin token', () => {
  let context: BrowserContext;
  let page: Page;
  let parent: { id: string; vault_key: string };
  let child: { id: string; vault_key: string };
  const apiRequests: { method: string; path: string; auth: string | undefined }[] = [];
  /** script errors and Content-Security-Policy violations: there must be none */
  const pageProblems: string[] = [];

  beforeAll(async () => {
    context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    page = await context.newPage();
    page.on('pageerror', (error) => pageProblems.push(error.message));
    page.on('console', (message) => message.type() === 'error' && /Content.Security.Policy|Uncaught/i.test(message.text()) && pageProblems.push(message.text()));
    page.on('request', (r) => {
      const url = new URL(r.url());
      if (url.pathname.startsWith('/api/')) apiRequests.push({ method: r.method(), path: url.pathname, auth: r.headers().authorization });
    });
  });
  afterAll(async () => {
    await context?.close();
  });

  afterEach(() => {
    expect(pageProblems).toEqual([]);
  });

  it('signs in with the admin token, which never appears in a URL', async () => {
    await page.goto(`${keyleash.url}/dashboard`);
    await page.getByLabel('Admin token').fill(keyleash.adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Vault keys' }).waitFor(WAIT);
    expect(page.url()).not.toContain(keyleash.adminToken);
    expect(apiRequests.at(-1)!.auth).toBe(`Bearer ${keyleash.adminToken}`);
  });

  it('shows a key tree issued through the API, with today\'s spend after proxied calls, red near the cap', async () => {
    parent = await api.issue({
      vendor: 'stripe',
      daily_usd_cap: 100,
      allowed_endpoints: ['POST /v1/payment_intents', 'GET /v1/customers/*'],
      expires_in: '8h',
      metadata: { role: 'billing', customer_id: 'cus_acme' },
      rules: [{ endpoint: 'POST /v1/payment_intents', max_usd_per_call: 50, currencies: ['usd'] }],
    });
    child = await api.derive(parent.vault_key, { daily_usd_cap: 30, allowed_endpoints: ['POST /v1/payment_intents'], expires_in: '2h', metadata: { run_id: 'r-42' } });
    await api.issue({ vendor: 'twilio', daily_usd_cap: 5, allowed_endpoints: ['POST /2010-04-01/Accounts/*/Messages.json'], expires_in: '7d', metadata: { role: 'notifier', customer_id: 'cus_zen' } });

    await stripeThrough(keyleash.url, parent.vault_key).paymentIntents.create({ amount: 2000, currency: 'usd' });
    await stripeThrough(keyleash.url, child.vault_key).paymentIntents.create({ amount: 2800, currency: 'usd' });
    // an adapter's call, with attribution headers
    const attributed = await fetch(`${keyleash.url}/v1/payment_intents`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${parent.vault_key}`,
        'content-type': 'application/x-www-form-urlencoded',
        'keyleash-agent': 'billing-agent',
        'keyleash-tool': 'charge_customer',
        'keyleash-run-id': 'r-42',
      },
      body: 'amount=100&currency=usd',
    });
    expect(attributed.status).toBe(200);

    // the page is open and polls: the new tree appears without a reload
    const parentRow = page.locator(`tr[data-key-id="${parent.id}"]`);
    const childRow = page.locator(`tr[data-key-id="${child.id}"]`);
    await parentRow.filter({ hasText: '$49.00 / $100.00' }).waitFor(WAIT);
    await childRow.filter({ hasText: '$28.00 / $30.00' }).waitFor(WAIT);
    await expect(parentRow.locator('[data-status]').first().textContent()).resolves.toBe('active');
    expect(await parentRow.textContent()).toContain('billing');
    expect(await parentRow.textContent()).toContain('cus_acme');
    expect(await parentRow.locator('.countdown').textContent()).toMatch(/^in (7h \d\dm|8h 00m)$/);
    expect(await childRow.textContent()).toContain('r-42');
    expect(await parentRow.locator('.spend').getAttribute('data-level')).toBe('ok');
    expect(await childRow.locator('.spend').getAttribute('data-level')).toBe('danger');
    const order = await page.locator('tr[data-key-id]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-key-id')));
    expect(order.indexOf(child.id)).toBe(order.indexOf(parent.id) + 1);
    await screenshot(page, 'keys');

    // filters: vendor, status, any metadata field
    await page.locator('select[name="vendor"]').selectOption('twilio');
    await expect(page.locator('tr[data-key-id]').evaluateAll((rows) => rows.map((r) => r.textContent))).resolves.toEqual([expect.stringContaining('notifier')]);
    await page.locator('select[name="vendor"]').selectOption('');
    await page.locator('select[name="metadata-field"]').selectOption('run_id');
    await page.locator('input[name="metadata-value"]').fill('r-42');
    // the child matches; its parent stays visible (dimmed) to keep the tree
    await expect(page.locator('tr[data-key-id]').evaluateAll((rows) => rows.map((r) => [r.getAttribute('data-key-id'), r.className.includes('row-context')]))).resolves.toEqual([
      [parent.id, true],
      [child.id, false],
    ]);
    await screenshot(page, 'keys-filtered');
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.locator('select[name="status"]').selectOption('revoked');
    await page.getByText('No key matches these filters.').waitFor(WAIT);
    await page.locator('select[name="status"]').selectOption('');
  });

  it('shows a refused call in the audit stream as it happens, and exports the filtered rows as CSV and JSONL', async () => {
    await page.getByRole('link', { name: 'Audit stream' }).click();
    await page.locator('tr[data-seq]').first().waitFor(WAIT);
    const before = await page.locator('tr[data-decision="refused"]').count();
    expect(before).toBe(0);
    await page.locator('tr', { hasText: 'billing-agent' }).filter({ hasText: 'charge_customer' }).waitFor(WAIT);

    const refused = await refusalOf(stripeThrough(keyleash.url, child.vault_key).paymentIntents.create({ amount: 500, currency: 'usd' }));
    expect(refused.code).toBe('keyleash_daily_cap_reached');

    const row = page.locator('tr[data-decision="refused"]');
    await row.first().waitFor(WAIT);
    const text = await row.first().textContent();
    expect(text).toContain('keyleash_daily_cap_reached');
    expect(text).toContain('POST');
    expect(text).toContain('/v1/payment_intents');
    expect(text).toContain(child.id);
    await screenshot(page, 'audit');

    await page.locator('select[name="decision"]').selectOption('refused');
    await page.locator('input[name="customer"]').fill('cus_acme');
    await page.waitForFunction(() => document.querySelectorAll('tr[data-decision="allowed"]').length === 0 && document.querySelectorAll('tr[data-decision="refused"]').length === 1, undefined, WAIT);

    const [csvDownload] = await Promise.all([page.waitForEvent('download', WAIT), page.getByRole('button', { name: 'Export CSV' }).click()]);
    const csv = readFileSync((await csvDownload.path())!, 'utf8').trim().split('\r\n');
    expect(csv[0]).toMatch(/^seq,at,vault_key_id,root_key_id,vendor,decision,reason,method,path,status,settled_usd/);
    expect(csv).toHaveLength(2);
    expect(csv[1]).toContain(`,${child.id},${parent.id},stripe,refused,keyleash_daily_cap_reached,POST,/v1/payment_intents,`);

    const [jsonlDownload] = await Promise.all([page.waitForEvent('download', WAIT), page.getByRole('button', { name: 'Export JSONL' }).click()]);
    const records = readFileSync((await jsonlDownload.path())!, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    expect(records).toEqual([expect.objectContaining({ vault_key_id: child.id, decision: 'refused', reason: 'keyleash_daily_cap_reached', path: '/v1/payment_intents' })]);
  });

  it("shows a key's policy, subtree, spend per day and last calls", async () => {
    await page.goto(`${keyleash.url}/dashboard#/keys/${parent.id}`);
    await page.getByRole('heading', { name: parent.id }).waitFor(WAIT);
    const policy = page.locator('.policy');
    await policy.getByText('GET /v1/customers/*').waitFor(WAIT);
    expect(await policy.textContent()).toContain('$100.00');
    expect(await policy.locator('[data-rule="0"]').textContent()).toBe('POST /v1/payment_intents · at most $50.00 per call · currency usd');
    const subtree = page.locator('.card', { has: page.getByRole('heading', { name: /Subtree/ }) });
    await subtree.locator(`tr[data-key-id="${child.id}"]`).waitFor(WAIT);
    expect(await page.getByRole('img', { name: `spend per day of ${parent.id}` }).locator('rect.chart-bar').count()).toBe(30);
    const calls = page.locator('.card', { has: page.getByRole('heading', { name: 'Last calls' }) });
    await calls.locator('tr[data-seq]', { hasText: 'billing-agent' }).waitFor(WAIT);
    expect(await calls.locator('tr[data-seq]').count()).toBe(2); // its own two calls; the child's are under the child
    await screenshot(page, 'key-detail');
  });

  it('shows spend today and over a range grouped by role, customer, vendor and tree root, with a chart', async () => {
    await page.getByRole('link', { name: 'Spend' }).click();
    const todayCard = page.getByTestId('spend-today');
    await todayCard.getByText('$49.00').waitFor(WAIT);
    await page.locator('tr[data-group="billing"]').first().filter({ hasText: '$49.00' }).waitFor(WAIT);
    expect(await page.getByRole('img', { name: 'spend by role' }).textContent()).toContain('billing');
    await screenshot(page, 'spend');
    await page.locator('select[name="group_by"]').selectOption('metadata.customer_id');
    await page.locator('tr[data-group="cus_acme"]').first().waitFor(WAIT);
    await page.locator('select[name="group_by"]').selectOption('vendor');
    await page.locator('tr[data-group="stripe"]').first().waitFor(WAIT);
    await page.locator('select[name="group_by"]').selectOption('root');
    await page.locator(`tr[data-group="${parent.id}"]`).first().filter({ hasText: '$49.00' }).waitFor(WAIT);
  });

  it("validates the issue form with the API's schema before sending, shows the API's own problems, and shows the new vault key once", async () => {
    await page.getByRole('link', { name: 'Issue a key' }).first().click();
    await page.getByRole('heading', { name: 'Issue a vault key' }).waitFor(WAIT);
    const posts = () => apiRequests.filter((r) => r.method === 'POST' && r.path === '/api/vault_keys').length;
    const postsBefore = posts();

    await page.locator('#daily_usd_cap').fill('50');
    await page.locator('#allowed_endpoints').fill('FETCH /v1/charges');
    await page.locator('#allowed_endpoints').blur();
    // the schema's own message, shown before anything is sent
    await page.locator('.field-problems', { hasText: 'allowed_endpoints.0: the endpoint pattern "FETCH /v1/charges"' }).waitFor(WAIT);
    await page.getByRole('button', { name: 'Issue key' }).click();
    await page.getByText('Fix these before issuing:').waitFor(WAIT);
    await screenshot(page, 'issue-invalid');
    expect(posts()).toBe(postsBefore);

    // valid by the schema, refused by the API (the expiry is in the past): the API's problems are shown
    await page.locator('#allowed_endpoints').fill('POST /v1/payment_intents');
    await page.getByLabel('expires at', { exact: true }).check();
    await page.locator('input[name="expires_at"]').fill('2020-01-01T10:00');
    await page.getByRole('button', { name: 'Issue key' }).click();
    await page.getByRole('alert').filter({ hasText: 'expires_at: is in the past' }).waitFor(WAIT);
    await screenshot(page, 'issue-api-refused');
    expect(posts()).toBe(postsBefore + 1);

    await page.getByLabel('expires in', { exact: true }).check();
    await page.locator('input[name="expires_in"]').fill('2h');
    await page.getByLabel('metadata value 1').fill('dashboard-made');
    await page.getByRole('button', { name: 'Issue key' }).click();
    const shown = page.getByTestId('issued-vault-key');
    await shown.waitFor(WAIT);
    const vaultKey = (await shown.textContent())!;
    expect(vaultKey).toMatch(/^vk_/);
    await screenshot(page, 'issue-issued');

    const intent = await stripeThrough(keyleash.url, vaultKey).paymentIntents.create({ amount: 300, currency: 'usd' });
    expect(intent.amount).toBe(300);
    const issued = (await api.call('GET', '/api/vault_keys')).body.data.find((k: any) => k.policy.metadata.role === 'dashboard-made');
    expect(issued.policy).toMatchObject({ daily_usd_cap: 50, allowed_endpoints: ['POST /v1/payment_intents'] });

    // shown once: leaving the page forgets it
    await page.getByRole('link', { name: 'Keys' }).click();
    await page.locator(`tr[data-key-id="${issued.id}"]`).waitFor(WAIT);
    expect(await page.content()).not.toContain(vaultKey);
  });

  it('revokes a parent after confirmation, shows the cascade, marks its children revoked, and the child key is refused next', async () => {
    await page.locator(`tr[data-key-id="${parent.id}"]`).getByRole('button', { name: 'Revoke' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText(child.id).waitFor(WAIT);
    await screenshot(page, 'revoke-confirm');
    await dialog.getByRole('button', { name: 'Revoke 2 keys' }).click();
    await dialog.getByRole('heading', { name: 'Revoked' }).waitFor(WAIT);
    const cascade = await dialog.locator('.revoked-ids li').allTextContents();
    expect(cascade.sort()).toEqual([parent.id, child.id].sort());
    await screenshot(page, 'revoke-cascade');
    await dialog.getByRole('button', { name: 'Done' }).click();

    await page.locator(`tr[data-key-id="${parent.id}"][data-status="revoked"]`).waitFor(WAIT);
    await page.locator(`tr[data-key-id="${child.id}"][data-status="revoked"]`).waitFor(WAIT);
    expect(await page.locator(`tr[data-key-id="${child.id}"]`).getByRole('button', { name: 'Revoke' }).count()).toBe(0);
    await screenshot(page, 'keys-after-revoke');

    const refused = await refusalOf(stripeThrough(keyleash.url, child.vault_key).paymentIntents.create({ amount: 100, currency: 'usd' }));
    expect(refused.code).toBe('keyleash_key_revoked');
    expect(upstream.requests.filter((r) => r.headers.authorization === `Bearer ${SECRET}` && r.form.amount === '100' && r.method === 'POST').length).toBe(1); // only the attributed call earlier

    await page.getByRole('link', { name: 'Audit stream' }).click();
    await page.locator('tr[data-decision="refused"]', { hasText: 'keyleash_key_revoked' }).waitFor(WAIT);
  });

  it('lists a held call on the Approvals page; Approve sends it, Deny refuses another', async () => {
    const key = await api.issue({
      vendor: 'stripe',
      daily_usd_cap: 500,
      allowed_endpoints: ['POST /v1/payment_intents'],
      expires_in: '1h',
      metadata: { role: 'approver' },
      approval: { above_usd: 50, timeout: '60s' },
    });
    const stripe = stripeThrough(keyleash.url, key.vault_key);
    const creates = () => upstream.requests.filter((r) => r.method === 'POST' && r.path === '/v1/payment_intents').length;
    await page.getByRole('link', { name: 'Approvals' }).click();
    const before = creates();
    const approvedCall = stripe.paymentIntents.create({ amount: 12_000, currency: 'usd' });
    const pending = page.locator('[data-testid="pending-approvals"] tr[data-approval-id]');
    await pending.filter({ hasText: '$120.00' }).waitFor(WAIT);
    expect(creates()).toBe(before);
    await screenshot(page, 'approvals-pending');
    await pending.filter({ hasText: '$120.00' }).getByRole('button', { name: 'Approve' }).click();
    expect((await approvedCall).amount).toBe(12_000);
    expect(creates()).toBe(before + 1);

    const deniedCall = refusalOf(stripe.paymentIntents.create({ amount: 9_000, currency: 'usd' }));
    await pending.filter({ hasText: '$90.00' }).waitFor(WAIT);
    await pending.filter({ hasText: '$90.00' }).getByRole('button', { name: 'Deny' }).click();
    expect((await deniedCall).code).toBe('keyleash_approval_denied');
    expect(creates()).toBe(before + 1);
    await page.locator('[data-testid="decided-approvals"] tr[data-status="denied"]').first().waitFor(WAIT);
    await screenshot(page, 'approvals-decided');
  });

  it('signs out and forgets the token', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor(WAIT);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
  });
});
