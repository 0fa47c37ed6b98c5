/**
 * What a child key may be. Every path that creates a child goes through `deriveChildPolicy`, so
 * "a child is never wider than its parent" is enforced in exactly one place (the HashiCorp Vault
 * token-store habit): same vendor, caps no higher, endpoints covered by the parent's patterns,
 * expiry no later, rate limit no higher, inherited metadata unchanged, priced-unpriced endpoints
 * only where the parent has them, connected accounts a subset, depth bounded.
 */
import { parseEndpointPattern, uncoveredPatterns, patternCovers, type EndpointPattern } from './endpoint-pattern.ts';
import { formatUsd, usdToMicros, type MicroUsd } from './money.ts';
import { expiryFrom, unpricedToMicros, type DeriveKeyRequest, type Policy } from './policy.ts';
import { keyStatus, type VaultKeyRecord } from './vault-key-record.ts';

export const DEFAULT_MAX_KEY_DEPTH = 5;

export type Derivation = { ok: true; policy: Policy } | { ok: false; problems: string[] };

function patterns(texts: readonly string[]): EndpointPattern[] {
  return texts.map((text) => {
    const parsed = parseEndpointPattern(text);
    if (!parsed.ok) throw new Error(`stored pattern is invalid: ${parsed.reason}`);
    return parsed.pattern;
  });
}

function capWithin(
  name: string,
  requested: number | null | undefined,
  parentCap: MicroUsd | null,
  problems: string[],
): MicroUsd | null {
  if (requested === undefined) return parentCap;
  if (requested === null) {
    if (parentCap !== null) problems.push(`${name}: null (no cap) is wider than the parent's ${formatUsd(parentCap)}; omit it to inherit the parent's cap`);
    return null;
  }
  const micros = usdToMicros(requested);
  if (parentCap !== null && micros > parentCap) {
    problems.push(`${name}: ${formatUsd(micros)} is above the parent's ${formatUsd(parentCap)}`);
  }
  return micros;
}

/**
 * @param parentChain the parent key first, then its ancestors up to the root
 */
export function deriveChildPolicy(
  parentChain: readonly VaultKeyRecord[],
  request: DeriveKeyRequest,
  now: number,
  maxDepth: number = DEFAULT_MAX_KEY_DEPTH,
): Derivation {
  const parent = parentChain[0];
  if (!parent) return { ok: false, problems: ['parent_vault_key: no such key'] };
  for (const ancestor of parentChain) {
    const status = keyStatus(ancestor, now);
    if (status !== 'active') {
      const who = ancestor === parent ? 'the parent key' : `its ancestor ${ancestor.id}`;
      return { ok: false, problems: [`parent_vault_key: ${who} is ${status}, so it cannot derive keys`] };
    }
  }

  const problems: string[] = [];
  const base = parent.policy;
  if (parent.depth + 1 > maxDepth) {
    problems.push(`parent_vault_key: a child here would be at depth ${parent.depth + 1}, past the maximum depth ${maxDepth}`);
  }
  if (request.vendor !== undefined && request.vendor !== base.vendor) {
    problems.push(`vendor: a child of a ${base.vendor} key must be a ${base.vendor} key, not ${request.vendor}`);
  }

  const dailyCapMicros = capWithin('daily_usd_cap', request.daily_usd_cap, base.dailyCapMicros, problems);
  const totalCapMicros = capWithin('total_usd_cap', request.total_usd_cap, base.totalCapMicros, problems);

  const allowedEndpoints = request.allowed_endpoints ?? base.allowedEndpoints;
  for (const wider of uncoveredPatterns(patterns(base.allowedEndpoints), patterns(allowedEndpoints))) {
    problems.push(`allowed_endpoints: "${wider.source}" is not inside any of the parent's patterns (${base.allowedEndpoints.join(', ')})`);
  }

  const expiresAt = expiryFrom(request, now) ?? base.expiresAt;
  if (expiresAt > base.expiresAt) {
    problems.push(`expiry: ${new Date(expiresAt).toISOString()} is later than the parent's ${new Date(base.expiresAt).toISOString()}`);
  }
  if (expiresAt <= now) problems.push('expiry: the requested expiry is already in the past');

  let rateLimitPerMinute = base.rateLimitPerMinute;
  if (request.rate_limit !== undefined) {
    const requested = request.rate_limit?.requests_per_minute ?? null;
    if (base.rateLimitPerMinute !== null && (requested === null || requested > base.rateLimitPerMinute)) {
      problems.push(`rate_limit: ${requested ?? 'unlimited'} requests/minute is above the parent's ${base.rateLimitPerMinute}`);
    }
    rateLimitPerMinute = requested;
  }

  const metadata = { ...base.metadata };
  for (const [field, value] of Object.entries(request.metadata ?? {})) {
    if (field in base.metadata && base.metadata[field] !== value) {
      problems.push(`metadata.${field}: inherited as "${base.metadata[field]}" and cannot be changed to "${value}"`);
    }
    metadata[field] = value;
  }

  const unpriced = request.unpriced === undefined ? base.unpriced : unpricedToMicros(request.unpriced);
  const parentUnpriced = Object.entries(base.unpriced).map(([text, price]) => ({ pattern: patterns([text])[0]!, price }));
  for (const [text, price] of Object.entries(unpriced)) {
    const pattern = patterns([text])[0]!;
    const allowedBy = parentUnpriced.find((entry) => patternCovers(entry.pattern, pattern) && countsAtLeast(price, entry.price));
    if (!allowedBy) {
      problems.push(`unpriced."${text}": the parent does not treat this endpoint as ${price === 'free' ? 'free' : `priced at ${formatUsd(price)} or less`}`);
    }
  }

  const stripeAccounts = request.stripe_accounts ?? base.stripeAccounts;
  for (const account of stripeAccounts) {
    if (!base.stripeAccounts.includes(account)) problems.push(`stripe_accounts: ${account} is not one of the parent's connected accounts`);
  }

  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    policy: {
      vendor: base.vendor,
      dailyCapMicros,
      totalCapMicros,
      allowedEndpoints,
      expiresAt,
      rateLimitPerMinute,
      metadata,
      unpriced,
      stripeAccounts,
    },
  };
}

/** A child may count an unpriced endpoint at a higher fixed price than its parent, never lower. */
function countsAtLeast(child: 'free' | MicroUsd, parent: 'free' | MicroUsd): boolean {
  if (parent === 'free') return true;
  return child !== 'free' && child >= parent;
}
