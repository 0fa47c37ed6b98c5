/**
 * Key trees through the real `keyleash serve` process: deriving a child with nothing but the
 * parent vault key, every escalation refused with each problem named, the admin API closed to
 * vault keys, `keyleash keys derive`, self-revocation of a subtree, and the tree / spend / audit
 * views that make a run's total (parent + all children) one query.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, startKeyleash } from '../support/keyleash-process.ts';
import { sdk, sdkError, startStripeStack, type StripeStack } from '../stripe/harness.ts';

const run = promisify(execFile);
let stack: StripeStack;

beforeAll(async () => {
  stack = await startStripeStack({ label: 'tree' });
});
afterAll(async () => {
  await stack?.stop();
});

const ROOT_POLICY = {
  vendor: 'stripe',
  daily_usd_cap: 500,
  total_usd_cap: 2_000,
  allowed_endpoints: ['POST /v1/payment_intents', 'GET /v1/customers/*', 'POST /v1/refunds'],
  expires_in: '24h',
  rate_limit: { requests_per_minute: 600 },
  metadata: { run_id: 'r-1', team: 'payments' },
  unpriced: { 'POST /v1/subscriptions': 5 },
};

type Key = { id: string; vault_key: string; [field: string]: any };

async function root(overrides: Record<string, unknown> = {}): Promise<Key> {
  return stack.api.issue({ ...ROOT_POLICY, ...overrides });
}

/** POST /api/vault_keys with the parent vault key in the body and no Authorization header. */
function deriveRaw(parentVaultKey: string, policy: Record<string, unknown>) {
  return stack.api.call('POST', '/api/vault_keys', { parent_vault_key: parentVaultKey, ...policy }, null);
}

const derive = (parent: Key, policy: Record<string, unknown> = {}): Promise<Key> => stack.api.derive(parent.vault_key, policy);

async function status(id: string): Promise<string> {
  const answer = await stack.api.call('GET', `/api/vault_keys/${id}`);
  expect(answer.status).toBe(200);
  return answer.body.status;
}

/** A $amount PaymentIntent through the proxy with the given key: the amount, or the refusal code. */
async function pay(key: Key, usd: number): Promise<number | string> {
  try {
    const intent = await sdk(stack.keyleash.url, key.vault_key).paymentIntents.create({ amount: Math.round(usd * 100), currency: 'usd' });
    return intent.amount / 100;
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

describe('deriving a child with the parent vault key (no admin token)', () => {
  it("answers the seed call with 201: the child's vault_key, id, parent_id and effective policy", async () => {
    const parent = await root();
    const answer = await deriveRaw(parent.vault_key, {
      daily_usd_cap: 200,
      allowed_endpoints: ['POST /v1/payment_intents'],
      expires_in: '30m',
      metadata: { parent_run_id: 'r-1', role: 'billing_subagent' },
    });
    expect(answer.status).toBe(201);
    const child = answer.body;
    expect(child.vault_key).toMatch(/^vk_[a-z2-7]{16}_[a-z2-7]{40}$/);
    expect(child.vault_key.split('_')[1]).toBe(child.id);
    expect(child).toMatchObject({ parent_id: parent.id, root_id: parent.id, depth: 1, status: 'active' });
    expect(child.policy).toMatchObject({
      vendor: 'stripe',
      daily_usd_cap: 200,
      total_usd_cap: 2_000, // omitted -> inherited
      allowed_endpoints: ['POST /v1/payment_intents'],
      rate_limit: { requests_per_minute: 600 },
      metadata: { run_id: 'r-1', team: 'payments', parent_run_id: 'r-1', role: 'billing_subagent' },
      unpriced: { 'POST /v1/subscriptions': 5 },
    });
    expect(Date.parse(child.policy.expires_at)).toBeLessThan(Date.parse(parent.policy.expires_at));

    // the child works, within its narrower scope only
    expect(await pay(child, 20)).toBe(20);
    const stripe = sdk(stack.keyleash.url, child.vault_key);
    expect((await sdkError(stripe.customers.retrieve('cus_1'))).code).toBe('keyleash_endpoint_not_allowed');
  });

  it('a child with an empty policy inherits everything from its parent', async () => {
    const parent = await root();
    const child = await derive(parent);
    expect(child.policy).toEqual(parent.policy);
  });

  it('accepts a pattern inside a parent pattern (POST /v1/refunds inside POST /v1/*)', async () => {
    const parent = await root({ allowed_endpoints: ['POST /v1/*'] });
    const child = await derive(parent, { allowed_endpoints: ['POST /v1/refunds'] });
    expect(child.policy.allowed_endpoints).toEqual(['POST /v1/refunds']);
  });
});

describe('every escalation is refused 403 with each problem named', () => {
  const escalations: [string, Record<string, unknown>, RegExp][] = [
    ['a higher daily cap', { daily_usd_cap: 501 }, /^daily_usd_cap: \$501\.00 is above the parent's \$500\.00$/],
    ['a higher total cap', { total_usd_cap: 2_500 }, /^total_usd_cap: \$2,500\.00 is above the parent's \$2,000\.00$/],
    ['no daily cap under a capped parent', { daily_usd_cap: null }, /^daily_usd_cap: null \(no cap\) is wider than the parent's \$500\.00/],
    ['a wider pattern (GET /v1/** under GET /v1/customers/*)', { allowed_endpoints: ['GET /v1/**'] }, /^allowed_endpoints: "GET \/v1\/\*\*" is not inside any of the parent's patterns/],
    ['another vendor', { vendor: 'twilio' }, /^vendor: a child of a stripe key must be a stripe key, not twilio$/],
    ['a later expiry', { expires_in: '7d' }, /^expiry: .* is later than the parent's /],
    ['a higher rate limit', { rate_limit: { requests_per_minute: 601 } }, /^rate_limit: 601 requests\/minute is above the parent's 600$/],
    ['overwriting inherited metadata', { metadata: { run_id: 'r-2' } }, /^metadata\.run_id: inherited as "r-1" and cannot be changed to "r-2"$/],
    ["an unpriced 'free' entry the parent does not have", { unpriced: { 'POST /v1/invoices': 'free' } }, /^unpriced\."POST \/v1\/invoices": the parent has no unpriced entry/],
    ['counting a parent-priced unpriced endpoint as free', { unpriced: { 'POST /v1/subscriptions': 'free' } }, /^unpriced\."POST \/v1\/subscriptions": the parent counts .* at \$5\.00 per call/],
    ['a connected account the parent may not act for', { stripe_accounts: ['acct_other'] }, /^stripe_accounts: acct_other is not one of the parent's connected accounts$/],
  ];

  it.each(escalations)('refuses %s', async (_name, policy, problem) => {
    const parent = await root();
    const answer = await deriveRaw(parent.vault_key, policy);
    expect(answer.status).toBe(403);
    expect(answer.body.error.code).toBe('child_wider_than_parent');
    expect(answer.body.error.problems).toEqual([expect.stringMatching(problem)]);
  });

  it('names every problem of a request with many escalations at once, and creates nothing', async () => {
    const parent = await root();
    const all = Object.assign({}, ...escalations.slice(0, 8).map(([, policy]) => policy), { unpriced: { 'POST /v1/invoices': 'free' }, stripe_accounts: ['acct_other'] });
    // daily_usd_cap appears twice in the table (501, then null): one problem for it, nine in all
    const answer = await deriveRaw(parent.vault_key, all);
    expect(answer.status).toBe(403);
    expect(answer.body.error.problems.map((p: string) => p.split(':')[0])).toEqual([
      'vendor',
      'daily_usd_cap',
      'total_usd_cap',
      'allowed_endpoints',
      'expiry',
      'rate_limit',
      'metadata.run_id',
      'unpriced."POST /v1/invoices"',
      'stripe_accounts',
    ]);
    const tree = await stack.api.call('GET', `/api/vault_keys/${parent.id}/tree`);
    expect(tree.body.data.map((k: Key) => k.id)).toEqual([parent.id]);
  });

  it('refuses deriving from a revoked parent, and from a live key whose ancestor is revoked', async () => {
    const parent = await root();
    const child = await derive(parent);
    // revoking the child only: the parent still derives, the revoked child does not
    await stack.api.call('POST', `/api/vault_keys/${child.id}/revoke`);
    const fromRevoked = await deriveRaw(child.vault_key, {});
    expect(fromRevoked.status).toBe(403);
    expect(fromRevoked.body.error.problems).toEqual(['parent_vault_key: the parent key is revoked, so it cannot derive keys']);
    const sibling = await derive(parent);

    await stack.api.call('POST', `/api/vault_keys/${parent.id}/revoke`);
    const underRevokedRoot = await deriveRaw(sibling.vault_key, {});
    expect(underRevokedRoot.status).toBe(403);
    expect(underRevokedRoot.body.error.problems[0]).toMatch(/parent_vault_key: .* is revoked, so it cannot derive keys/);
  });

  it('refuses deriving from an expired parent', async () => {
    const parent = await root({ expires_in: '1s' });
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Date.parse(parent.policy.expires_at) - Date.now()) + 100));
    const answer = await deriveRaw(parent.vault_key, {});
    expect(answer.status).toBe(403);
    expect(answer.body.error.problems).toEqual(['parent_vault_key: the parent key is expired, so it cannot derive keys']);
  });

  it('children nest down to depth 5 by default; a sixth level is refused naming the maximum depth', async () => {
    let key = await root();
    for (let depth = 1; depth <= 5; depth++) {
      key = await derive(key);
      expect(key.depth).toBe(depth);
    }
    const answer = await deriveRaw(key.vault_key, {});
    expect(answer.status).toBe(403);
    expect(answer.body.error.problems).toEqual(['parent_vault_key: a child here would be at depth 6, past the maximum depth 5']);
  });

  it('honours a configured --max-key-depth', async () => {
    const shallow = await startKeyleash({ extraArgs: ['--max-key-depth', '1'] });
    try {
      const call = async (body: unknown, token: string | null) => {
        const response = await fetch(`${shallow.url}/api/vault_keys`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body: JSON.stringify(body),
        });
        return { status: response.status, body: (await response.json()) as any };
      };
      const parent = (await call(ROOT_POLICY, shallow.adminToken)).body;
      const child = await call({ parent_vault_key: parent.vault_key }, null);
      expect(child.status).toBe(201);
      const grandchild = await call({ parent_vault_key: child.body.vault_key }, null);
      expect(grandchild.status).toBe(403);
      expect(grandchild.body.error.problems).toEqual(['parent_vault_key: a child here would be at depth 2, past the maximum depth 1']);
    } finally {
      await shallow.stop();
    }
  });

  it('refuses an unknown parent key or a wrong secret with 401, and a body without parent_vault_key needs the admin token', async () => {
    const parent = await root();
    const secret = parent.vault_key.slice(20);
    const wrongSecret = `${parent.vault_key.slice(0, 20)}${secret[0] === 'a' ? 'b' : 'a'}${secret.slice(1)}`;
    for (const presented of [wrongSecret, 'vk_nothing', 'sk_live_notakey']) {
      const answer = await deriveRaw(presented, {});
      expect(answer.status).toBe(401);
      expect(answer.body.error.code).toBe('unknown_vault_key');
    }
    const noParent = await stack.api.call('POST', '/api/vault_keys', { ...ROOT_POLICY }, null);
    expect(noParent.status).toBe(401);
    expect(noParent.body.error.code).toBe('admin_token_required');
  });
});

describe('a vault key cannot use the admin API', () => {
  it('answers 403 vault_key_not_admin to listing, reading, issuing, revoking another key, tree, audit and spend', async () => {
    const parent = await root();
    const child = await derive(parent);
    const other = await root();
    const attempts: [string, string, unknown?][] = [
      ['GET', '/api/vault_keys'],
      ['GET', `/api/vault_keys/${other.id}`],
      ['POST', '/api/vault_keys', { ...ROOT_POLICY }],
      ['POST', `/api/vault_keys/${other.id}/revoke`],
      ['POST', `/api/vault_keys/${parent.id}/revoke`],
      ['DELETE', `/api/vault_keys/${parent.id}`],
      ['GET', `/api/vault_keys/${parent.id}/tree`],
      ['GET', `/api/vault_keys/${parent.id}/spend`],
      ['GET', '/api/audit'],
      ['GET', '/api/audit/verify'],
      ['GET', '/api/spend?group_by=root'],
    ];
    for (const presenting of [parent, child]) {
      for (const [method, path, body] of attempts) {
        const answer = await stack.api.call(method, path, body, presenting.vault_key);
        expect(answer.status, `${method} ${path}`).toBe(403);
        expect(answer.body.error.code, `${method} ${path}`).toBe('vault_key_not_admin');
      }
    }
    expect(await status(other.id)).toBe('active');
    expect(await status(parent.id)).toBe('active');
    const keys = await stack.api.call('GET', `/api/vault_keys?root_id=${parent.id}`);
    expect(keys.body.data).toHaveLength(2); // nothing was issued by those attempts
  });
});

describe('keyleash keys derive --parent', () => {
  async function cli(args: string[]) {
    try {
      // no KEYLEASH_ADMIN_TOKEN: deriving needs only the parent vault key
      const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'packages/proxy/src/cli/main.ts'), ...args], {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH ?? '', KEYLEASH_URL: stack.keyleash.url },
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code?: number; stdout?: string; stderr?: string };
      return { code: e.code ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  }

  it('derives a working child without an admin token, and prints each problem of a refused one', async () => {
    const parent = await root();
    const result = await cli([
      'keys', 'derive', '--parent', parent.vault_key, '--daily-usd-cap', '30', '--allow', 'POST /v1/payment_intents',
      '--expires-in', '30m', '--metadata', 'role=cli_sub', '--json',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const child = JSON.parse(result.stdout) as Key;
    expect(child).toMatchObject({ parent_id: parent.id, root_id: parent.id, depth: 1 });
    expect(child.policy).toMatchObject({ daily_usd_cap: 30, allowed_endpoints: ['POST /v1/payment_intents'], metadata: { run_id: 'r-1', role: 'cli_sub' } });
    expect(await pay(child, 25)).toBe(25);
    expect(await pay(child, 10)).toBe('keyleash_daily_cap_reached');

    const refused = await cli(['keys', 'derive', '--parent', child.vault_key, '--daily-usd-cap', '31', '--allow', 'GET /v1/**', '--json']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('403: the child key would not be a subset of its parent');
    expect(refused.stderr).toContain("daily_usd_cap: $31.00 is above the parent's $30.00");
    expect(refused.stderr).toContain('allowed_endpoints: "GET /v1/**" is not inside');
  });

  it('without --json prints the child key once, naming its parent', async () => {
    const parent = await root();
    const result = await cli(['keys', 'derive', '--parent', parent.vault_key, '--expires-in', '30m']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`Created stripe vault key [a-z2-7]{16} \\(child of ${parent.id}\\)`));
    expect(result.stdout).toMatch(/vk_[a-z2-7]{16}_[a-z2-7]{40}/);
  });

  it('keys revoke --self revokes the presented key and its descendants', async () => {
    const parent = await root();
    const child = await derive(parent);
    const grandchild = await derive(child);
    const result = await cli(['keys', 'revoke', '--self', child.vault_key, '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ id: child.id, revoked_ids: [child.id, grandchild.id] });
    expect(await status(parent.id)).toBe('active');
  });
});

describe('DELETE /api/vault_keys/self: a key holder revokes its own subtree, never its parent or siblings', () => {
  it("a child's self-revoke leaves its parent and siblings working; the parent's self-revoke takes the whole subtree and names every id", async () => {
    const top = await root();
    const a = await derive(top, { daily_usd_cap: 100 });
    const a1 = await derive(a, { daily_usd_cap: 50 });
    const a1x = await derive(a1);
    const a2 = await derive(a, { daily_usd_cap: 50 });
    const b = await derive(top, { daily_usd_cap: 100 });

    // a1x revokes itself: only itself
    const leaf = await stack.api.call('DELETE', '/api/vault_keys/self', undefined, a1x.vault_key);
    expect(leaf.status).toBe(200);
    expect(leaf.body).toEqual({ id: a1x.id, revoked_ids: [a1x.id] });
    expect(await pay(a1x, 1)).toBe('keyleash_key_revoked');
    expect(await pay(a1, 1)).toBe(1); // its parent still works

    // a child cannot revoke its parent or a sibling: there is no door for it
    for (const path of [`/api/vault_keys/${a.id}/revoke`, `/api/vault_keys/${a2.id}/revoke`]) {
      const answer = await stack.api.call('POST', path, undefined, a1.vault_key);
      expect(answer.status).toBe(403);
      expect(answer.body.error.code).toBe('vault_key_not_admin');
    }
    expect(await status(a.id)).toBe('active');
    expect(await status(a2.id)).toBe('active');

    // a revokes itself: a, a1, a2 (a1x was already revoked and is not repeated)
    const subtree = await stack.api.call('DELETE', '/api/vault_keys/self', undefined, a.vault_key);
    expect(subtree.status).toBe(200);
    expect(subtree.body.id).toBe(a.id);
    expect([...subtree.body.revoked_ids].sort()).toEqual([a.id, a1.id, a2.id].sort());
    for (const key of [a, a1, a1x, a2]) {
      expect(await status(key.id)).toBe('revoked');
      expect(await pay(key, 1)).toBe('keyleash_key_revoked');
    }
    // the parent and the sibling are untouched and keep working
    expect(await status(top.id)).toBe('active');
    expect(await status(b.id)).toBe('active');
    expect(await pay(b, 1)).toBe(1);
    expect(await pay(top, 1)).toBe(1);

    // again: nothing new to revoke
    const again = await stack.api.call('DELETE', '/api/vault_keys/self', undefined, a.vault_key);
    expect(again.body).toEqual({ id: a.id, revoked_ids: [] });
  });

  it('needs the vault key itself: no bearer, the admin token or an unknown key are refused', async () => {
    expect((await stack.api.call('DELETE', '/api/vault_keys/self', undefined, null)).status).toBe(401);
    const withAdmin = await stack.api.call('DELETE', '/api/vault_keys/self');
    expect(withAdmin.status).toBe(401);
    expect(withAdmin.body.error.code).toBe('vault_key_required');
    const parent = await root();
    const unknown = await stack.api.call('DELETE', '/api/vault_keys/self', undefined, `${parent.vault_key.slice(0, 20)}${'a'.repeat(40)}`);
    expect(unknown.status).toBe(401);
    expect(await status(parent.id)).toBe('active');
  });

  it('the admin revoke answers with the key and every descendant it revoked', async () => {
    const top = await root();
    const c1 = await derive(top);
    const c2 = await derive(top);
    const g = await derive(c1);
    const answer = await stack.api.call('POST', `/api/vault_keys/${top.id}/revoke`);
    expect(answer.status).toBe(200);
    expect(answer.body.id).toBe(top.id);
    expect([...answer.body.revoked_ids].sort()).toEqual([top.id, c1.id, c2.id, g.id].sort());
  });
});

describe("a run's spend in one query: tree, spend by root, audit by root", () => {
  let top: Key;
  let c1: Key;
  let c2: Key;
  let g: Key;

  beforeAll(async () => {
    top = await root({ metadata: { run_id: 'r-tree' } });
    c1 = await derive(top, { daily_usd_cap: 100 });
    c2 = await derive(top, { daily_usd_cap: 100 });
    g = await derive(c1, { daily_usd_cap: 10, allowed_endpoints: ['POST /v1/payment_intents'] });
    expect(await pay(top, 1)).toBe(1);
    expect(await pay(c1, 20)).toBe(20);
    expect(await pay(g, 5)).toBe(5);
    expect(await pay(g, 6)).toBe('keyleash_daily_cap_reached');
    expect(await pay(c2, 10)).toBe(10);
    // another run, to show the grouping separates runs
    const otherRun = await root({ metadata: { run_id: 'r-other' } });
    expect(await pay(await derive(otherRun), 3)).toBe(3);
  });

  it("GET /api/vault_keys/{id}/tree lists the subtree with each key's spend today, descendants included", async () => {
    const tree = await stack.api.call('GET', `/api/vault_keys/${top.id}/tree`);
    expect(tree.status).toBe(200);
    expect(tree.body.root).toBe(top.id);
    const byId = new Map<string, any>(tree.body.data.map((k: any) => [k.id, k]));
    expect([...byId.keys()].sort()).toEqual([top.id, c1.id, c2.id, g.id].sort());
    expect(byId.get(top.id)).toMatchObject({ parent_id: null, depth: 0, status: 'active', spend: { today_usd: 36, includes_descendants: true } });
    expect(byId.get(c1.id)).toMatchObject({ parent_id: top.id, depth: 1, spend: { today_usd: 25 } });
    expect(byId.get(c2.id)).toMatchObject({ parent_id: top.id, depth: 1, spend: { today_usd: 10 } });
    expect(byId.get(g.id)).toMatchObject({ parent_id: c1.id, depth: 2, spend: { today_usd: 5 } });
    for (const key of tree.body.data) expect(key).not.toHaveProperty('vault_key');

    const subtree = await stack.api.call('GET', `/api/vault_keys/${c1.id}/tree`);
    expect(subtree.body.data.map((k: any) => k.id).sort()).toEqual([c1.id, g.id].sort());
  });

  it("GET /api/spend?group_by=root gives the run's total (parent + all children) as one row", async () => {
    const spend = await stack.api.call('GET', '/api/spend?group_by=root');
    expect(spend.status).toBe(200);
    const row = spend.body.data.find((r: any) => r.group === top.id);
    expect(row).toMatchObject({ usd: 36, micros: 36_000_000, requests: 4 });
    for (const id of [c1.id, c2.id, g.id]) expect(spend.body.data.find((r: any) => r.group === id)).toBeUndefined();
  });

  it('audit rows carry root_key_id, so ?root_key_id= returns every request of the tree, refusals included', async () => {
    const rows = await stack.api.audit(`root_key_id=${top.id}`);
    expect(rows).toHaveLength(5);
    for (const row of rows) expect(row.root_key_id).toBe(top.id);
    expect(new Set(rows.map((r) => r.vault_key_id))).toEqual(new Set([top.id, c1.id, c2.id, g.id]));
    const refused = rows.filter((r) => r.decision === 'refused');
    expect(refused).toEqual([expect.objectContaining({ vault_key_id: g.id, reason: 'keyleash_daily_cap_reached' })]);
    expect(rows.filter((r) => r.decision === 'allowed').reduce((sum, r) => sum + r.settled_micros, 0)).toBe(36_000_000);
    expect(rows.every((r) => r.metadata.run_id === 'r-tree')).toBe(true);
  });
});
