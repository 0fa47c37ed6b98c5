import { parseEndpointPattern, patternsForVendor, policyVendors, type EndpointPattern, type VaultKeyRecord } from '@keyleash/core';

export interface CompiledPolicy {
  /** the allowlist per vendor the key covers (vendor prefixes resolved, see vendor-scope.ts) */
  allowed: ReadonlyMap<string, EndpointPattern[]>;
  unpriced: { pattern: EndpointPattern; price: 'free' | number }[];
}

function compile(text: string): EndpointPattern {
  const parsed = parseEndpointPattern(text);
  if (!parsed.ok) throw new Error(`stored endpoint pattern is invalid: ${parsed.reason}`);
  return parsed.pattern;
}

/**
 * Parsed endpoint patterns per key. A key's policy never changes after issue (only its
 * revocation does, and that is always read fresh), so this cache can never serve stale scope.
 */
export class CompiledPolicies {
  private readonly cache = new Map<string, CompiledPolicy>();

  constructor(private readonly maxEntries = 10_000) {}

  get(key: VaultKeyRecord): CompiledPolicy {
    let compiled = this.cache.get(key.id);
    if (!compiled) {
      compiled = {
        allowed: new Map(policyVendors(key.policy).map((vendor) => [vendor, patternsForVendor(key.policy.allowedEndpoints, policyVendors(key.policy), vendor).map(compile)])),
        unpriced: Object.entries(key.policy.unpriced).map(([text, price]) => ({ pattern: compile(text), price })),
      };
      if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(key.id, compiled);
    }
    return compiled;
  }
}
