/**
 * `pnpm keyleash …` against a running `keyleash serve`: keys create/list/show/revoke, audit and
 * spend, both as tables and as --json, configured from KEYLEASH_URL and KEYLEASH_ADMIN_TOKEN.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/keyleash-process.ts';
import { sdk, sdkError, useStripeStack } from './harness.ts';

const run = promisify(execFile);

const stack = useStripeStack({ label: 'cli' });

async function keyleash(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'packages/proxy/src/cli/main.ts'), ...args], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', KEYLEASH_URL: stack.keyleash.url, KEYLEASH_ADMIN_TOKEN: stack.keyleash.adminToken, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('the keyleash CLI against a running proxy', () => {
  let created: { id: string; vault_key: string; policy: any; status: string };

  it('keys create --json issues a key that works through the proxy', async () => {
    const result = await keyleash([
      'keys', 'create', '--vendor', 'stripe', '--daily-usd-cap', '25', '--allow', 'POST /v1/payment_intents', '--allow', 'GET /v1/customers/*',
      '--expires-in', '2h', '--metadata', 'role=cli-agent', '--metadata', 'customer_id=cus_cli', '--json',
    ]);
    expect(result.code, result.stderr).toBe(0);
    created = JSON.parse(result.stdout);
    expect(created.vault_key).toMatch(/^vk_[a-z2-7]{16}_[a-z2-7]{40}$/);
    expect(created.vault_key.split('_')[1]).toBe(created.id);
    expect(created.status).toBe('active');
    expect(created.policy).toMatchObject({ vendor: 'stripe', daily_usd_cap: 25, allowed_endpoints: ['POST /v1/payment_intents', 'GET /v1/customers/*'], metadata: { role: 'cli-agent', customer_id: 'cus_cli' } });

    const stripe = sdk(stack.keyleash.url, created.vault_key);
    expect((await stripe.paymentIntents.create({ amount: 2000, currency: 'usd' })).amount).toBe(2000);
    const refused = await sdkError(stripe.paymentIntents.create({ amount: 1000, currency: 'usd' }));
    expect(refused.code).toBe('keyleash_daily_cap_reached');
  });

  it('keys create without --json prints the key once, with how to use it', async () => {
    const result = await keyleash(['keys', 'create', '--vendor', 'stripe', '--daily-usd-cap', 'none', '--allow', 'GET /v1/customers', '--expires-in', '30m', '--metadata', 'role=reader']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/Created stripe vault key [a-z2-7]{16}/);
    expect(result.stdout).toMatch(/vk_[a-z2-7]{16}_[a-z2-7]{40}/);
  });

  it('keys list shows the key with today’s spend, as JSON and as a table, and filters by metadata', async () => {
    const [json, filteredRun, table] = await Promise.all([
      keyleash(['keys', 'list', '--json']),
      keyleash(['keys', 'list', '--metadata', 'role=cli-agent', '--json']),
      keyleash(['keys', 'list']),
    ]);
    expect(json.code, json.stderr).toBe(0);
    const keys = JSON.parse(json.stdout) as any[];
    const mine = keys.find((k) => k.id === created.id);
    expect(mine).toMatchObject({ status: 'active', spend: { today_usd: 20 } });
    expect(json.stdout).not.toContain(created.vault_key.split('_')[2]);

    const filtered = JSON.parse(filteredRun.stdout) as any[];
    expect(filtered.map((k) => k.id)).toEqual([created.id]);

    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/ID\s+PARENT\s+VENDOR\s+STATUS/);
    const line = table.stdout.split('\n').find((l) => l.includes(created.id));
    expect(line).toMatch(/stripe\s+active/);
    expect(line).toContain('role=cli-agent');
  });

  it('audit --json lists the key’s requests with decisions and costs, and filters them', async () => {
    const [result, refusedRun, table] = await Promise.all([
      keyleash(['audit', '--key', created.id, '--json']),
      keyleash(['audit', '--metadata', 'role=cli-agent', '--decision', 'refused', '--json']),
      keyleash(['audit', '--key', created.id]),
    ]);
    expect(result.code, result.stderr).toBe(0);
    const rows = JSON.parse(result.stdout) as any[];
    expect(rows.map((r) => [r.decision, r.reason, r.settled_micros])).toEqual([
      ['refused', 'keyleash_daily_cap_reached', 0],
      ['allowed', null, 20_000_000],
    ]);
    const refused = JSON.parse(refusedRun.stdout) as any[];
    expect(refused.length).toBe(1);

    expect(table.stdout).toMatch(/SEQ\s+AT\s+KEY\s+REQUEST/);
    expect(table.stdout).toContain('POST /v1/payment_intents');
    expect(table.stdout).toContain('keyleash_daily_cap_reached');
  });

  it('spend shows what each key and each role spent today', async () => {
    const [table, byRoleRun] = await Promise.all([keyleash(['spend']), keyleash(['spend', '--group-by', 'metadata.role', '--json'])]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/total \$20(\.00)?/);
    expect(table.stdout).toContain(created.id);

    const byRole = JSON.parse(byRoleRun.stdout);
    expect(byRole.total_usd).toBe(20);
    expect(byRole.data).toEqual([expect.objectContaining({ group: 'cli-agent', usd: 20, requests: 1 })]);
  });

  it('keys show and keys revoke, after which the key is refused', async () => {
    const show = JSON.parse((await keyleash(['keys', 'show', created.id, '--json'])).stdout);
    expect(show).toMatchObject({ id: created.id, status: 'active' });
    const revoke = await keyleash(['keys', 'revoke', created.id]);
    expect(revoke.code, revoke.stderr).toBe(0);
    expect(revoke.stdout).toContain(created.id);
    const after = JSON.parse((await keyleash(['keys', 'show', created.id, '--json'])).stdout);
    expect(after.status).toBe('revoked');
    const refused = await sdkError(sdk(stack.keyleash.url, created.vault_key).customers.retrieve('cus_1'));
    expect(refused.code).toBe('keyleash_key_revoked');
  });

  it('an invalid key request exits 1 and lists every problem', async () => {
    const result = await keyleash(['keys', 'create', '--vendor', 'stripe', '--daily-usd-cap', '-3', '--allow', 'FETCH /v1/x', '--expires-in', 'soon']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('400');
    for (const field of ['daily_usd_cap', 'allowed_endpoints', 'expires_in']) expect(result.stderr).toContain(field);
    expect(result.stderr).not.toMatch(/\bat .*\.ts:\d+/);
  });

  it('a wrong admin token exits 1 with a clear message', async () => {
    const result = await keyleash(['keys', 'list'], { KEYLEASH_ADMIN_TOKEN: 'kla_wrong' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/401/);
  });

  it('keys create --rule sets parameter rules; keys show prints them; keys derive --rule may only tighten', async () => {
    const rule = { endpoint: 'POST /v1/payment_intents', max_usd_per_call: 20, currencies: ['usd'] };
    const result = await keyleash(['keys', 'create', '--vendor', 'stripe', '--daily-usd-cap', '100', '--allow', 'POST /v1/payment_intents', '--expires-in', '1h', '--rule', JSON.stringify(rule), '--json']);
    expect(result.code, result.stderr).toBe(0);
    const key = JSON.parse(result.stdout);
    expect(key.policy.rules).toEqual([rule]);
    expect((await keyleash(['keys', 'show', key.id])).stdout).toContain('rules[0]: {"endpoint":"POST /v1/payment_intents","max_usd_per_call":20');
    const refused = await sdkError(sdk(stack.keyleash.url, key.vault_key).paymentIntents.create({ amount: 2001, currency: 'usd' }));
    expect(refused.code).toBe('keyleash_rule_violation');

    const wider = await keyleash(['keys', 'derive', '--parent', key.vault_key, '--rule', JSON.stringify({ ...rule, max_usd_per_call: 30 })]);
    expect(wider.code).toBe(1);
    expect(wider.stderr).toContain('rules[0] ("POST /v1/payment_intents")');
    const tighter = await keyleash(['keys', 'derive', '--parent', key.vault_key, '--rule', JSON.stringify({ ...rule, max_usd_per_call: 5 }), '--json']);
    expect(tighter.code, tighter.stderr).toBe(0);
    expect(JSON.parse(tighter.stdout).policy.rules[0].max_usd_per_call).toBe(5);
  });

  it('approvals list shows a held call; approvals approve sends it, approvals deny refuses the next', async () => {
    const policyFile = join(mkdtempSync(join(tmpdir(), 'keyleash-cli-')), 'policy.json');
    writeFileSync(policyFile, JSON.stringify({ approval: { above_usd: 10, timeout: '60s' } }));
    const key = JSON.parse((await keyleash(['keys', 'create', '--vendor', 'stripe', '--daily-usd-cap', '500', '--allow', 'POST /v1/payment_intents', '--expires-in', '1h', '--policy', policyFile, '--json'])).stdout);
    const stripe = sdk(stack.keyleash.url, key.vault_key);
    const held = async () => {
      for (;;) {
        const listed = JSON.parse((await keyleash(['approvals', 'list', '--json'])).stdout).filter((a: { vault_key_id: string }) => a.vault_key_id === key.id);
        if (listed.length) return listed[0];
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    };
    const approvedCall = stripe.paymentIntents.create({ amount: 2500, currency: 'usd' });
    const first = await held();
    expect((await keyleash(['approvals', 'list'])).stdout).toContain(first.id);
    const approved = await keyleash(['approvals', 'approve', first.id]);
    expect(approved.stdout).toContain(`${first.id} approved: POST /v1/payment_intents $25.00`);
    expect((await approvedCall).amount).toBe(2500);

    const deniedCall = sdkError(stripe.paymentIntents.create({ amount: 2600, currency: 'usd' }));
    const second = await held();
    expect((await keyleash(['approvals', 'deny', second.id])).code).toBe(0);
    expect((await deniedCall).code).toBe('keyleash_approval_denied');
    const again = await keyleash(['approvals', 'deny', second.id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already denied');
  });
});
