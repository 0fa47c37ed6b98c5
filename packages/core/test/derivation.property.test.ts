/**
 * Property tests for issue 3's core promise: a child key is never wider than its parent, in scope,
 * money or time, and no chain of derivations widens anything relative to the root.
 *
 * Scope is checked twice: by pattern containment (`patternCovers`, what the server uses) and, as an
 * independent oracle, by enumerating every concrete request over a small alphabet and asking the
 * matcher the proxy uses (`anyPatternMatches`) whether the child's allowlist lets it through.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_KEY_DEPTH, deriveChildPolicy } from '../src/derivation.ts';
import { anyPatternMatches, parseEndpointPattern, patternCovers, type EndpointPattern } from '../src/endpoint-pattern.ts';
import { DeriveKeyRequest, type Policy } from '../src/policy.ts';
import type { VaultKeyRecord } from '../src/vault-key-record.ts';
import { keyRecord } from './key-record-fixture.ts';

const NOW = Date.parse('2025-06-01T12:00:00Z');
const HOUR = 3_600_000;

// ---- endpoint patterns over a small alphabet -------------------------------------------------

const PATTERN_METHODS = ['GET', 'POST', '*'] as const;
const PATTERN_LITERALS = ['v1', 'a', 'b'] as const;

const patternText: fc.Arbitrary<string> = fc
  .record({
    method: fc.constantFrom(...PATTERN_METHODS),
    segments: fc.array(fc.constantFrom(...PATTERN_LITERALS, '*'), { minLength: 1, maxLength: 3 }),
    rest: fc.boolean(),
  })
  .map(({ method, segments, rest }) => `${method} /${[...segments, ...(rest ? ['**'] : [])].join('/')}`);

function compile(text: string): EndpointPattern {
  const parsed = parseEndpointPattern(text);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.pattern;
}

/** A pattern that covers no more than `text` does: wildcards made concrete, "**" shortened. */
function narrowedPattern(text: string): fc.Arbitrary<string> {
  const pattern = compile(text);
  const methods = pattern.method === '*' ? PATTERN_METHODS : [pattern.method];
  const segment = (s: string): fc.Arbitrary<string[]> => {
    if (s === '*') return fc.constantFrom(['*'], ['v1'], ['a'], ['c']);
    if (s === '**') return fc.constantFrom(['**'], ['*'], ['a'], ['*', '**'], ['c', '*']);
    return fc.constant([s]);
  };
  return fc
    .tuple(fc.constantFrom(...methods), fc.tuple(...pattern.segments.map(segment)))
    .map(([method, parts]) => `${method} /${parts.flat().join('/')}`);
}

// ---- concrete requests: the independent oracle for scope --------------------------------------

const REQUEST_METHODS = ['GET', 'POST', 'DELETE'];
// 'c' appears in no random pattern: only wildcards can match it.
const REQUEST_LITERALS = ['v1', 'a', 'b', 'c'];

function allPaths(maxLength: number): string[][] {
  const paths: string[][] = [];
  let layer: string[][] = [[]];
  for (let length = 1; length <= maxLength; length++) {
    layer = layer.flatMap((prefix) => REQUEST_LITERALS.map((s) => [...prefix, s]));
    paths.push(...layer);
  }
  return paths;
}
const CONCRETE_REQUESTS = REQUEST_METHODS.flatMap((method) => allPaths(5).map((segments) => ({ method, segments })));

/** What a key's unpriced policy counts each request at (first matching entry, as the proxy does). */
function unpricedPricer(policy: Policy): (method: string, segments: readonly string[]) => number | undefined {
  const entries = Object.entries(policy.unpriced).map(([text, price]) => ({ pattern: compile(text), micros: price === 'free' ? 0 : price }));
  return (method, segments) => entries.find((entry) => anyPatternMatches([entry.pattern], method, segments))?.micros;
}

// ---- policies and requests ---------------------------------------------------------------------

const METADATA_FIELDS = ['role', 'run_id', 'team', 'extra'] as const;
const METADATA_VALUES = ['a', 'b', 'c'] as const;
const ACCOUNTS = ['acct_1', 'acct_2', 'acct_3'] as const;

const micros = fc.integer({ min: 0, max: 2_000 }).map((usd) => usd * 1_000_000);
const cap = fc.option(micros, { nil: null, freq: 3 });
const unpricedPriceArb = fc.oneof(fc.constant<'free'>('free'), fc.integer({ min: 0, max: 50 }).map((usd) => usd * 1_000_000));

const parentPolicy: fc.Arbitrary<Policy> = fc.record({
  vendor: fc.constantFrom('stripe' as const, 'twilio' as const),
  dailyCapMicros: cap,
  totalCapMicros: cap,
  allowedEndpoints: fc.uniqueArray(patternText, { minLength: 1, maxLength: 4 }),
  expiresAt: fc.integer({ min: 1, max: 24 * 14 }).map((hours) => NOW + hours * HOUR),
  rateLimitPerMinute: fc.option(fc.integer({ min: 1, max: 1_000 }), { nil: null, freq: 3 }),
  metadata: fc.dictionary(fc.constantFrom(...METADATA_FIELDS), fc.constantFrom(...METADATA_VALUES), { maxKeys: 3 }),
  unpriced: fc.dictionary(patternText, unpricedPriceArb, { maxKeys: 3 }),
  stripeAccounts: fc.uniqueArray(fc.constantFrom(...ACCOUNTS), { maxLength: 3 }),
});

function record(policy: Policy, parent?: VaultKeyRecord, overrides: Partial<VaultKeyRecord> = {}): VaultKeyRecord {
  return keyRecord(policy, NOW, parent, overrides);
}

const usd = (m: number) => m / 1_000_000;
const usdCap = (parentCap: number | null) =>
  fc.oneof(
    fc.constant(undefined),
    fc.constant(null),
    fc.integer({ min: 0, max: 4_000 }).map((cents) => cents / 100),
    ...(parentCap === null ? [] : [fc.integer({ min: 0, max: parentCap / 10_000 }).map((cents) => cents / 100)]),
  );

/** Any child request: every field anything the schema accepts, often near the parent's value. */
function wildRequest(parent: Policy): fc.Arbitrary<DeriveKeyRequest> {
  const endpoints = fc.oneof(
    fc.constant(undefined),
    fc.uniqueArray(patternText, { minLength: 1, maxLength: 3 }),
    fc.uniqueArray(fc.constantFrom(...parent.allowedEndpoints).chain(narrowedPattern), { minLength: 1, maxLength: 3 }),
  );
  const parentHours = Math.floor((parent.expiresAt - NOW) / HOUR);
  const expiry = fc.oneof(
    fc.constant({}),
    fc.constantFrom('30m', '8h', '24h', '7d').map((expires_in) => ({ expires_in })),
    fc.integer({ min: -2, max: parentHours + 2 }).map((hours) => ({ expires_at: new Date(NOW + hours * HOUR).toISOString() })),
  );
  const rate = fc.oneof(
    fc.constant(undefined),
    fc.constant(null),
    fc.integer({ min: 1, max: 1_200 }).map((requests_per_minute) => ({ requests_per_minute })),
  );
  const metadata = fc.option(fc.dictionary(fc.constantFrom(...METADATA_FIELDS), fc.constantFrom(...METADATA_VALUES), { maxKeys: 3 }), { nil: undefined });
  const parentUnpriced = Object.entries(parent.unpriced);
  const unpriced = fc.oneof(
    fc.constant(undefined),
    fc.dictionary(patternText, fc.oneof(fc.constant<'free'>('free'), fc.integer({ min: 0, max: 50 })), { maxKeys: 2 }),
    ...(parentUnpriced.length
      ? [
          fc
            .constantFrom(...parentUnpriced)
            .chain(([text, price]) =>
              fc.tuple(narrowedPattern(text), price === 'free' ? fc.constantFrom<'free' | number>('free', 0, 3) : fc.integer({ min: usd(price), max: usd(price) + 5 })),
            )
            .map(([text, price]) => ({ [text]: price })),
        ]
      : []),
  );
  const accounts = fc.option(fc.uniqueArray(fc.constantFrom(...ACCOUNTS), { maxLength: 3 }), { nil: undefined });
  return fc
    .record({
      vendor: fc.constantFrom(undefined, parent.vendor, 'stripe' as const, 'twilio' as const),
      daily: usdCap(parent.dailyCapMicros),
      total: usdCap(parent.totalCapMicros),
      endpoints,
      expiry,
      rate,
      metadata,
      unpriced,
      accounts,
    })
    .map((r) =>
      DeriveKeyRequest.parse(
        Object.fromEntries(
          Object.entries({
            parent_vault_key: 'vk_parent',
            vendor: r.vendor,
            daily_usd_cap: r.daily,
            total_usd_cap: r.total,
            allowed_endpoints: r.endpoints,
            ...r.expiry,
            rate_limit: r.rate,
            metadata: r.metadata,
            unpriced: r.unpriced,
            stripe_accounts: r.accounts,
          }).filter(([, value]) => value !== undefined),
        ),
      ),
    );
}

/** A request that only narrows: every field the parent's or tighter. Must always be accepted. */
function narrowingRequest(parent: Policy): fc.Arbitrary<DeriveKeyRequest> {
  const tighterCap = (parentCap: number | null) =>
    parentCap === null
      ? fc.oneof(fc.constant(undefined), fc.constant(null), fc.integer({ min: 0, max: 100_000 }).map((c) => c / 100))
      : fc.oneof(fc.constant(undefined), fc.integer({ min: 0, max: parentCap / 10_000 }).map((c) => c / 100));
  const parentMinutes = Math.floor((parent.expiresAt - NOW) / 60_000);
  const metadataKeys = METADATA_FIELDS.filter((field) => !(field in parent.metadata));
  return fc
    .record({
      daily: tighterCap(parent.dailyCapMicros),
      total: tighterCap(parent.totalCapMicros),
      endpoints: fc.option(fc.uniqueArray(fc.constantFrom(...parent.allowedEndpoints).chain(narrowedPattern), { minLength: 1, maxLength: 3 }), { nil: undefined }),
      minutes: parentMinutes >= 1 ? fc.option(fc.integer({ min: 1, max: parentMinutes }), { nil: undefined }) : fc.constant(undefined),
      rate: fc.option(fc.integer({ min: 1, max: parent.rateLimitPerMinute ?? 5_000 }), { nil: undefined }),
      metadata: metadataKeys.length
        ? fc.option(fc.dictionary(fc.constantFrom(...metadataKeys), fc.constantFrom(...METADATA_VALUES), { maxKeys: 2 }), { nil: undefined })
        : fc.constant(undefined),
      accounts: fc.option(fc.subarray(parent.stripeAccounts), { nil: undefined }),
      // a prefix of the parent's unpriced entries (order matters: the first match prices a call), each
      // counted at the parent's price or more
      unpriced: fc.option(
        fc
          .integer({ min: 0, max: Object.keys(parent.unpriced).length })
          .chain((keep) =>
            fc.tuple(
              ...Object.entries(parent.unpriced)
                .slice(0, keep)
                .map(([text, price]) =>
                  (price === 'free' ? fc.constantFrom<'free' | number>('free', 0, 2) : fc.integer({ min: usd(price), max: usd(price) + 5 })).map(
                    (counted) => [text, counted] as const,
                  ),
                ),
            ),
          )
          .map((entries) => Object.fromEntries(entries)),
        { nil: undefined },
      ),
    })
    .map((r) =>
      DeriveKeyRequest.parse(
        Object.fromEntries(
          Object.entries({
            parent_vault_key: 'vk_parent',
            daily_usd_cap: r.daily,
            total_usd_cap: r.total,
            allowed_endpoints: r.endpoints,
            expires_in: r.minutes === undefined ? undefined : `${r.minutes}m`,
            rate_limit: r.rate === undefined ? undefined : { requests_per_minute: r.rate },
            // inherited fields repeated unchanged, plus new ones
            metadata: r.metadata === undefined ? undefined : { ...parent.metadata, ...r.metadata },
            stripe_accounts: r.accounts,
            unpriced: r.unpriced,
          }).filter(([, value]) => value !== undefined),
        ),
      ),
    );
}

const FIELD_GROUPS: (keyof DeriveKeyRequest)[][] = [
  ['vendor'],
  ['daily_usd_cap'],
  ['total_usd_cap'],
  ['allowed_endpoints'],
  ['expires_in', 'expires_at'],
  ['rate_limit'],
  ['metadata'],
  ['unpriced'],
  ['stripe_accounts'],
];

/**
 * A child request mixing a narrowing request with a wild one, field by field (each field wild one
 * time in six), so that accepted and refused children are both common.
 */
function childRequest(parent: Policy): fc.Arbitrary<DeriveKeyRequest> {
  return fc
    .tuple(narrowingRequest(parent), wildRequest(parent), fc.array(fc.integer({ min: 0, max: 5 }), { minLength: FIELD_GROUPS.length, maxLength: FIELD_GROUPS.length }))
    .map(([narrow, wild, dice]) => {
      const mixed: Record<string, unknown> = { parent_vault_key: 'vk_parent' };
      FIELD_GROUPS.forEach((group, i) => {
        const from = dice[i] === 0 ? wild : narrow;
        for (const field of group) if (from[field] !== undefined) mixed[field] = from[field];
      });
      return DeriveKeyRequest.parse(mixed);
    });
}

// ---- the subset relation, checked field by field -------------------------------------------------

function capWithin(child: number | null, parent: number | null): boolean {
  return parent === null || (child !== null && child <= parent);
}

/** Every way `child` could be wider than `ancestor`, as sentences (empty = subset). */
function widenings(child: Policy, ancestor: Policy): string[] {
  const found: string[] = [];
  if (child.vendor !== ancestor.vendor) found.push('vendor');
  if (!capWithin(child.dailyCapMicros, ancestor.dailyCapMicros)) found.push('daily cap');
  if (!capWithin(child.totalCapMicros, ancestor.totalCapMicros)) found.push('total cap');
  if (child.expiresAt > ancestor.expiresAt) found.push('expiry');
  if (!capWithin(child.rateLimitPerMinute, ancestor.rateLimitPerMinute)) found.push('rate limit');
  for (const [field, value] of Object.entries(ancestor.metadata)) {
    if (child.metadata[field] !== value) found.push(`metadata.${field}`);
  }
  for (const account of child.stripeAccounts) if (!ancestor.stripeAccounts.includes(account)) found.push(`account ${account}`);

  const ancestorPatterns = ancestor.allowedEndpoints.map(compile);
  for (const text of child.allowedEndpoints) {
    if (!ancestorPatterns.some((outer) => patternCovers(outer, compile(text)))) found.push(`pattern ${text} not covered`);
  }
  const childPatterns = child.allowedEndpoints.map(compile);
  for (const { method, segments } of CONCRETE_REQUESTS) {
    if (anyPatternMatches(childPatterns, method, segments) && !anyPatternMatches(ancestorPatterns, method, segments)) {
      found.push(`request ${method} /${segments.join('/')} allowed`);
      break;
    }
  }
  const childPrice = unpricedPricer(child);
  const ancestorPrice = unpricedPricer(ancestor);
  for (const { method, segments } of CONCRETE_REQUESTS) {
    const counted = childPrice(method, segments);
    if (counted === undefined) continue;
    const ancestorCounts = ancestorPrice(method, segments);
    // a child may count an unpriced endpoint at more than its ancestor would, never at less
    if (ancestorCounts === undefined || counted < ancestorCounts) {
      found.push(`unpriced ${method} /${segments.join('/')} counted at ${counted} micro-USD (ancestor: ${ancestorCounts ?? 'not unpriced'})`);
      break;
    }
  }
  return found;
}

// DERIVATION_RUNS=20000 for a long soak; the default keeps the file around a couple of seconds
const RUNS = { numRuns: Number(process.env.DERIVATION_RUNS ?? 300) };
const TIMEOUT_MS = Math.max(60_000, RUNS.numRuns * 50);

describe('deriveChildPolicy (properties)', () => {
  it('every accepted child is a subset of its parent, field by field and request by request', () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(
        parentPolicy.chain((policy) => fc.tuple(fc.constant(policy), childRequest(policy))),
        ([policy, request]) => {
          const parent = record(policy);
          const result = deriveChildPolicy([parent], request, NOW);
          if (!result.ok) {
            refused++;
            expect(result.problems.length).toBeGreaterThan(0);
            return;
          }
          accepted++;
          expect(widenings(result.policy, policy)).toEqual([]);
          expect(result.policy.expiresAt).toBeGreaterThan(NOW);
        },
      ),
      RUNS,
    );
    // both branches must actually be exercised, or the property says nothing
    expect(accepted).toBeGreaterThan(RUNS.numRuns / 20);
    expect(refused).toBeGreaterThan(RUNS.numRuns / 20);
  }, TIMEOUT_MS);

  it('a request that only narrows is always accepted, and an omitted field is inherited unchanged', () => {
    fc.assert(
      fc.property(
        parentPolicy.chain((policy) => fc.tuple(fc.constant(policy), narrowingRequest(policy))),
        ([policy, request]) => {
          const result = deriveChildPolicy([record(policy)], request, NOW);
          if (!result.ok) throw new Error(`refused a narrowing child: ${result.problems.join('; ')}`);
          const child = result.policy;
          if (request.daily_usd_cap === undefined) expect(child.dailyCapMicros).toBe(policy.dailyCapMicros);
          if (request.total_usd_cap === undefined) expect(child.totalCapMicros).toBe(policy.totalCapMicros);
          if (request.allowed_endpoints === undefined) expect(child.allowedEndpoints).toEqual(policy.allowedEndpoints);
          if (request.expires_in === undefined) expect(child.expiresAt).toBe(policy.expiresAt);
          if (request.rate_limit === undefined) expect(child.rateLimitPerMinute).toBe(policy.rateLimitPerMinute);
          if (request.metadata === undefined) expect(child.metadata).toEqual(policy.metadata);
          if (request.unpriced === undefined) expect(child.unpriced).toEqual(policy.unpriced);
          if (request.stripe_accounts === undefined) expect(child.stripeAccounts).toEqual(policy.stripeAccounts);
          expect(widenings(child, policy)).toEqual([]);
        },
      ),
      RUNS,
    );
  }, TIMEOUT_MS);

  it('a child never counts an unpriced endpoint at less than its parent would (first matching entry wins)', () => {
    // a tiny alphabet so entries overlap and shadow each other often
    const tinyPattern = fc
      .record({ method: fc.constantFrom('POST', '*'), segments: fc.array(fc.constantFrom('v1', '*'), { minLength: 1, maxLength: 2 }), rest: fc.boolean() })
      .map(({ method, segments, rest }) => `${method} /${[...segments, ...(rest ? ['**'] : [])].join('/')}`);
    const price = fc.oneof(fc.constant<'free'>('free'), fc.integer({ min: 0, max: 5 }));
    let accepted = 0;
    fc.assert(
      fc.property(
        parentPolicy,
        fc.dictionary(tinyPattern, price, { minKeys: 1, maxKeys: 4 }),
        fc.dictionary(tinyPattern, price, { minKeys: 1, maxKeys: 3 }),
        (policy, parentUnpriced, childUnpriced) => {
          const parent: Policy = {
            ...policy,
            unpriced: Object.fromEntries(Object.entries(parentUnpriced).map(([text, usd]) => [text, usd === 'free' ? 'free' : usd * 1_000_000])),
          };
          const result = deriveChildPolicy([record(parent)], DeriveKeyRequest.parse({ parent_vault_key: 'vk_parent', unpriced: childUnpriced }), NOW);
          if (!result.ok) return;
          accepted++;
          expect(widenings(result.policy, parent)).toEqual([]);
        },
      ),
      RUNS,
    );
    expect(accepted).toBeGreaterThan(RUNS.numRuns / 20);
  }, TIMEOUT_MS);

  it('no chain of derivations widens anything relative to the root or any ancestor, and depth stays bounded', () => {
    let deepest = 0;
    fc.assert(
      fc.property(
        parentPolicy,
        fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
        fc.gen(),
        (rootPolicy, steps, generate) => {
          const chain: VaultKeyRecord[] = [record(rootPolicy)];
          for (const narrowOnly of steps) {
            const parent = chain[0]!;
            const request = generate(narrowOnly ? narrowingRequest : childRequest, parent.policy);
            const result = deriveChildPolicy(chain, request, NOW);
            if (parent.depth + 1 > DEFAULT_MAX_KEY_DEPTH) {
              expect(result.ok).toBe(false);
              if (!result.ok) expect(result.problems.join('\n')).toMatch(/maximum depth/);
              continue;
            }
            if (!result.ok) {
              if (narrowOnly) throw new Error(`refused a narrowing child at depth ${parent.depth + 1}: ${result.problems.join('; ')}`);
              continue;
            }
            const child = record(result.policy, parent);
            for (const ancestor of chain) expect(widenings(child.policy, ancestor.policy)).toEqual([]);
            chain.unshift(child);
            deepest = Math.max(deepest, child.depth);
          }
          expect(chain[0]!.depth).toBeLessThanOrEqual(DEFAULT_MAX_KEY_DEPTH);
        },
      ),
      { numRuns: Math.ceil(RUNS.numRuns / 2) },
    );
    expect(deepest).toBe(DEFAULT_MAX_KEY_DEPTH);
  }, TIMEOUT_MS);

  it('a parent with any revoked or expired key in its chain derives nothing, whatever is asked', () => {
    const status = fc.constantFrom('active', 'active', 'revoked', 'expired');
    fc.assert(
      fc.property(
        parentPolicy.chain((policy) => fc.tuple(fc.constant(policy), narrowingRequest(policy))),
        fc.array(status, { minLength: 1, maxLength: 4 }),
        ([policy, request], statuses) => {
          // the same policy at every level is a valid chain; only the statuses vary
          const chain: VaultKeyRecord[] = [];
          for (const s of statuses) {
            const parent = chain[0];
            const key = record(s === 'expired' ? { ...policy, expiresAt: NOW } : policy, parent, { revokedAt: s === 'revoked' ? NOW - 1 : null });
            chain.unshift(key);
          }
          const result = deriveChildPolicy(chain, request, NOW);
          const inactive = statuses.some((s) => s !== 'active');
          if (inactive) {
            expect(result.ok).toBe(false);
            if (!result.ok) expect(result.problems).toEqual([expect.stringMatching(/is (revoked|expired), so it cannot derive keys/)]);
          } else {
            expect(result.ok).toBe(true);
          }
        },
      ),
      RUNS,
    );
  }, TIMEOUT_MS);
});
