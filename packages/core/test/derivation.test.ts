/**
 * Issue 3's escalation attempts against `deriveChildPolicy`, one by one: each is refused, and the
 * problem names the field and the parent's limit so the agent (or its operator) knows what to fix.
 */
import { describe, expect, it } from 'vitest';
import { checkAdmission, type ChainLinkState } from '../src/admission.ts';
import { DEFAULT_MAX_KEY_DEPTH, deriveChildPolicy, type Derivation } from '../src/derivation.ts';
import { DeriveKeyRequest, type Policy } from '../src/policy.ts';
import type { VaultKeyRecord } from '../src/vault-key-record.ts';
import { keyRecord } from './key-record-fixture.ts';

const NOW = Date.parse('2025-06-01T12:00:00Z');
const HOUR = 3_600_000;
const USD = 1_000_000;

const PARENT_POLICY: Policy = {
  vendor: 'stripe',
  dailyCapMicros: 200 * USD,
  totalCapMicros: 1_000 * USD,
  allowedEndpoints: ['POST /v1/payment_intents', 'GET /v1/customers/*', 'POST /v1/*'],
  expiresAt: NOW + 24 * HOUR,
  rateLimitPerMinute: 120,
  metadata: { run_id: 'r-1', role: 'billing' },
  unpriced: { 'POST /v1/subscriptions': 5 * USD },
  stripeAccounts: ['acct_1', 'acct_2'],
};

function key(policy: Policy = PARENT_POLICY, parent?: VaultKeyRecord, overrides: Partial<VaultKeyRecord> = {}): VaultKeyRecord {
  return keyRecord(policy, NOW, parent, overrides);
}

function derive(request: Record<string, unknown>, chain: VaultKeyRecord[] = [key()], maxDepth?: number): Derivation {
  return deriveChildPolicy(chain, DeriveKeyRequest.parse({ parent_vault_key: 'vk_parent', ...request }), NOW, maxDepth);
}

function accepted(request: Record<string, unknown>, chain?: VaultKeyRecord[]): Policy {
  const result = derive(request, chain);
  if (!result.ok) throw new Error(`expected the child to be accepted, got: ${result.problems.join('; ')}`);
  return result.policy;
}

function problems(request: Record<string, unknown>, chain?: VaultKeyRecord[], maxDepth?: number): string[] {
  const result = derive(request, chain, maxDepth);
  if (result.ok) throw new Error('expected the child to be refused');
  return result.problems;
}

describe('deriveChildPolicy: what a child inherits', () => {
  it('accepts the seed call and returns the effective policy: asked-for fields narrowed, the rest inherited', () => {
    const child = accepted({
      daily_usd_cap: 150,
      allowed_endpoints: ['POST /v1/payment_intents'],
      expires_in: '30m',
      metadata: { parent_run_id: 'r-1', role: 'billing' },
    });
    expect(child).toEqual({
      ...PARENT_POLICY,
      dailyCapMicros: 150 * USD,
      allowedEndpoints: ['POST /v1/payment_intents'],
      expiresAt: NOW + 30 * 60_000,
      metadata: { run_id: 'r-1', role: 'billing', parent_run_id: 'r-1' },
    });
  });

  it('an empty request yields a copy of the parent policy', () => {
    expect(accepted({})).toEqual(PARENT_POLICY);
  });

  it('accepts a pattern inside a parent pattern (containment, not string equality)', () => {
    expect(accepted({ allowed_endpoints: ['POST /v1/refunds', 'GET /v1/customers/cus_1'] }).allowedEndpoints).toEqual([
      'POST /v1/refunds',
      'GET /v1/customers/cus_1',
    ]);
  });

  it('a child may set a cap or rate limit under a parent that has none', () => {
    const uncapped = key({ ...PARENT_POLICY, dailyCapMicros: null, totalCapMicros: null, rateLimitPerMinute: null });
    const child = accepted({ daily_usd_cap: 10, total_usd_cap: 20, rate_limit: { requests_per_minute: 5 } }, [uncapped]);
    expect(child).toMatchObject({ dailyCapMicros: 10 * USD, totalCapMicros: 20 * USD, rateLimitPerMinute: 5 });
  });

  it('a child may repeat an inherited metadata value unchanged', () => {
    expect(accepted({ metadata: { role: 'billing' } }).metadata).toEqual(PARENT_POLICY.metadata);
  });

  it('a child may count a parent-priced unpriced endpoint at the same or a higher price', () => {
    expect(accepted({ unpriced: { 'POST /v1/subscriptions': 7.5 } }).unpriced).toEqual({ 'POST /v1/subscriptions': 7_500_000 });
  });
});

describe('deriveChildPolicy: each escalation is refused with a clear reason', () => {
  it('refuses a higher daily cap, naming both amounts', () => {
    expect(problems({ daily_usd_cap: 250 })).toEqual(["daily_usd_cap: $250.00 is above the parent's $200.00"]);
  });

  it('refuses a higher total cap', () => {
    expect(problems({ total_usd_cap: 1_000.01 })).toEqual(["total_usd_cap: $1,000.01 is above the parent's $1,000.00"]);
  });

  it('refuses a null (no) cap under a capped parent and says to omit it to inherit', () => {
    expect(problems({ daily_usd_cap: null })).toEqual([
      "daily_usd_cap: null (no cap) is wider than the parent's $200.00; omit it to inherit the parent's cap",
    ]);
  });

  it('refuses a wider pattern: GET /v1/** is not inside GET /v1/customers/*', () => {
    const parent = key({ ...PARENT_POLICY, allowedEndpoints: ['GET /v1/customers/*'] });
    expect(problems({ allowed_endpoints: ['GET /v1/customers/cus_1', 'GET /v1/**'] }, [parent])).toEqual([
      `allowed_endpoints: "GET /v1/**" is not inside any of the parent's patterns (GET /v1/customers/*)`,
    ]);
  });

  it('refuses a wider method: * /v1/payment_intents is not inside POST /v1/payment_intents', () => {
    expect(problems({ allowed_endpoints: ['* /v1/payment_intents'] })[0]).toMatch(/"\* \/v1\/payment_intents" is not inside any of the parent's patterns/);
  });

  it('refuses another vendor', () => {
    expect(problems({ vendor: 'twilio' })).toEqual(['vendor: a child of a stripe key must be a stripe key, not twilio']);
  });

  it('refuses a later expiry, given as a duration or as an instant', () => {
    expect(problems({ expires_in: '7d' })).toEqual([
      `expiry: ${new Date(NOW + 7 * 24 * HOUR).toISOString()} is later than the parent's ${new Date(NOW + 24 * HOUR).toISOString()}`,
    ]);
    expect(problems({ expires_at: new Date(NOW + 25 * HOUR).toISOString() })[0]).toMatch(/^expiry: .* is later than the parent's/);
  });

  it('refuses an expiry already in the past', () => {
    expect(problems({ expires_at: new Date(NOW - 1).toISOString() })).toEqual(['expiry: the requested expiry is already in the past']);
  });

  it('refuses a higher or absent rate limit under a rate-limited parent', () => {
    expect(problems({ rate_limit: { requests_per_minute: 121 } })).toEqual(["rate_limit: 121 requests/minute is above the parent's 120"]);
    expect(problems({ rate_limit: null })).toEqual(["rate_limit: unlimited requests/minute is above the parent's 120"]);
  });

  it('refuses overwriting inherited metadata, naming the field and both values', () => {
    expect(problems({ metadata: { role: 'admin', extra: 'ok' } })).toEqual(['metadata.role: inherited as "billing" and cannot be changed to "admin"']);
  });

  it("refuses an unpriced 'free' entry the parent does not have", () => {
    expect(problems({ unpriced: { 'POST /v1/invoices': 'free' } })).toEqual([
      'unpriced."POST /v1/invoices": the parent has no unpriced entry covering this endpoint, so a child cannot add one',
    ]);
  });

  it('refuses counting a parent-priced unpriced endpoint as free or cheaper', () => {
    expect(problems({ unpriced: { 'POST /v1/subscriptions': 'free' } })).toEqual([
      'unpriced."POST /v1/subscriptions": the parent counts "POST /v1/subscriptions" at $5.00 per call, so a child cannot count POST /v1/subscriptions at free',
    ]);
    expect(problems({ unpriced: { 'POST /v1/subscriptions': 4.99 } })[0]).toMatch(/at \$5\.00 per call, so a child cannot count .* at \$4\.99/);
  });

  it('refuses an entry covered by a free parent entry when an earlier, dearer parent entry prices those calls', () => {
    // the proxy prices a call at the first matching entry: under the parent POST /v1/subscriptions costs $5
    const parent = key({ ...PARENT_POLICY, unpriced: { 'POST /v1/subscriptions': 5 * USD, 'POST /v1/*': 'free' } });
    expect(problems({ unpriced: { 'POST /v1/subscriptions': 'free' } }, [parent])).toEqual([
      'unpriced."POST /v1/subscriptions": the parent counts "POST /v1/subscriptions" at $5.00 per call, so a child cannot count POST /v1/subscriptions at free',
    ]);
    expect(problems({ unpriced: { 'POST /v1/*': 'free' } }, [parent])[0]).toMatch(/cannot count POST \/v1\/subscriptions at free/);
    // a copy of the parent's entries, in order, is accepted
    expect(accepted({ unpriced: { 'POST /v1/subscriptions': 5, 'POST /v1/*': 'free' } }, [parent]).unpriced).toEqual(parent.policy.unpriced);
    expect(accepted({ unpriced: { 'POST /v1/invoices': 'free' } }, [parent]).unpriced).toEqual({ 'POST /v1/invoices': 'free' });
  });

  it('refuses a connected account the parent may not act for', () => {
    expect(problems({ stripe_accounts: ['acct_1', 'acct_9'] })).toEqual(["stripe_accounts: acct_9 is not one of the parent's connected accounts"]);
  });

  it('names every problem at once, not just the first', () => {
    const found = problems({ vendor: 'twilio', daily_usd_cap: 999, allowed_endpoints: ['DELETE /v1/customers/*'], expires_in: '7d', metadata: { run_id: 'r-2' } });
    expect(found).toHaveLength(5);
    expect(found.map((p) => p.split(':')[0])).toEqual(['vendor', 'daily_usd_cap', 'allowed_endpoints', 'expiry', 'metadata.run_id']);
  });
});

describe('deriveChildPolicy: the parent chain must be alive and shallow enough', () => {
  it('refuses deriving from a revoked parent', () => {
    expect(problems({}, [key(PARENT_POLICY, undefined, { revokedAt: NOW - 1 })])).toEqual([
      'parent_vault_key: the parent key is revoked, so it cannot derive keys',
    ]);
  });

  it('refuses deriving from an expired parent', () => {
    expect(problems({}, [key({ ...PARENT_POLICY, expiresAt: NOW })])).toEqual(['parent_vault_key: the parent key is expired, so it cannot derive keys']);
  });

  it('refuses deriving under a revoked or expired ancestor, naming it', () => {
    const revokedRoot = key(PARENT_POLICY, undefined, { revokedAt: NOW - 1 });
    const child = key(PARENT_POLICY, revokedRoot);
    expect(problems({}, [child, revokedRoot])).toEqual([`parent_vault_key: its ancestor ${revokedRoot.id} is revoked, so it cannot derive keys`]);

    const expiredRoot = key({ ...PARENT_POLICY, expiresAt: NOW - 1 });
    const middle = key(PARENT_POLICY, expiredRoot);
    const leaf = key(PARENT_POLICY, middle);
    expect(problems({}, [leaf, middle, expiredRoot])).toEqual([`parent_vault_key: its ancestor ${expiredRoot.id} is expired, so it cannot derive keys`]);
  });

  it('refuses a missing parent', () => {
    expect(problems({}, [])).toEqual(['parent_vault_key: no such key']);
  });

  it(`allows children down to depth ${DEFAULT_MAX_KEY_DEPTH} by default and refuses one past it`, () => {
    const chain = [key()];
    for (let depth = 1; depth <= DEFAULT_MAX_KEY_DEPTH; depth++) {
      const child = accepted({}, chain);
      chain.unshift(key(child, chain[0]));
    }
    expect(chain[0]!.depth).toBe(DEFAULT_MAX_KEY_DEPTH);
    expect(problems({}, chain)).toEqual([
      `parent_vault_key: a child here would be at depth ${DEFAULT_MAX_KEY_DEPTH + 1}, past the maximum depth ${DEFAULT_MAX_KEY_DEPTH}`,
    ]);
  });

  it('honours a configured maximum depth (0 = no child keys at all)', () => {
    const root = key();
    expect(problems({}, [root], 0)).toEqual(['parent_vault_key: a child here would be at depth 1, past the maximum depth 0']);
    const child = key(PARENT_POLICY, root);
    expect(derive({}, [root], 1).ok).toBe(true);
    expect(problems({}, [child, root], 1)[0]).toMatch(/past the maximum depth 1/);
  });
});

describe('checkAdmission: an ancestor that ends ends its descendants, whatever their own state', () => {
  const link = (id: string, overrides: Partial<ChainLinkState> = {}): ChainLinkState => ({
    id,
    revokedAt: null,
    expiresAt: NOW + HOUR,
    dailyCapMicros: null,
    totalCapMicros: null,
    rateLimitPerMinute: null,
    dailySpentMicros: 0,
    totalSpentMicros: 0,
    requestsThisMinute: 0,
    ...overrides,
  });

  it("refuses a child whose own expiry is later than its expired ancestor's, naming the ancestor", () => {
    const chain = [link('child', { expiresAt: NOW + 24 * HOUR }), link('parent', { expiresAt: NOW })];
    expect(checkAdmission(chain, 0, NOW)).toEqual({ kind: 'expired', keyId: 'parent' });
  });

  it('refuses a child of a revoked root, naming the root', () => {
    const chain = [link('grandchild'), link('child'), link('root', { revokedAt: NOW - 1 })];
    expect(checkAdmission(chain, 0, NOW)).toEqual({ kind: 'revoked', keyId: 'root' });
  });

  it("refuses a child's spend that fits its own cap but not its parent's remaining budget", () => {
    const chain = [link('child', { dailyCapMicros: 80 * USD, dailySpentMicros: 0 }), link('parent', { dailyCapMicros: 100 * USD, dailySpentMicros: 90 * USD })];
    expect(checkAdmission(chain, 20 * USD, NOW)).toMatchObject({ kind: 'daily_cap', keyId: 'parent' });
    expect(checkAdmission(chain, 10 * USD, NOW)).toBeUndefined();
  });
});
