/**
 * Keys that cover several vendors (one budget for an agent's model calls and its actions):
 * `"vendors": ["stripe", "openai"]`, and allowlist patterns that name their vendor,
 * `"openai:POST /v1/chat/completions"`. A pattern without a prefix belongs to the key's only
 * vendor, so every single-vendor key written before multi-vendor keys keeps its meaning; a key
 * with several vendors must prefix every pattern (an unprefixed one would be ambiguous).
 */
import { VENDOR_NAMES, type Policy, type VendorName } from './policy.ts';

/** The vendors a key covers: `vendors` when it has several, else its one `vendor`. */
export function policyVendors(policy: Pick<Policy, 'vendor' | 'vendors'>): readonly VendorName[] {
  return policy.vendors ?? [policy.vendor];
}

export function isVendorName(name: string): name is VendorName {
  return (VENDOR_NAMES as readonly string[]).includes(name);
}

/** `"openai:POST /v1/x"` -> vendor openai, pattern `"POST /v1/x"`; no known vendor prefix -> the text as it is. */
export function splitVendorPattern(text: string): { vendor?: VendorName; pattern: string } {
  const trimmed = text.trim();
  const colon = trimmed.indexOf(':');
  const prefix = colon > 0 ? trimmed.slice(0, colon) : '';
  if (isVendorName(prefix)) return { vendor: prefix, pattern: trimmed.slice(colon + 1).trim() };
  return { pattern: trimmed };
}

/** The patterns (without prefix) that apply to `vendor` on a key covering `vendors`. */
export function patternsForVendor(allowed: readonly string[], vendors: readonly VendorName[], vendor: VendorName): string[] {
  if (!vendors.includes(vendor)) return [];
  return allowed.flatMap((text) => {
    const split = splitVendorPattern(text);
    const owner = split.vendor ?? (vendors.length === 1 ? vendors[0] : undefined);
    return owner === vendor ? [split.pattern] : [];
  });
}

/** What is wrong with a key's vendors and allowlist together, as "field: problem" sentences. */
export function vendorScopeProblems(allowed: readonly string[], vendors: readonly VendorName[]): string[] {
  const problems: string[] = [];
  if (new Set(vendors).size !== vendors.length) problems.push('vendors: a vendor is listed twice');
  for (const text of allowed) {
    const split = splitVendorPattern(text);
    if (split.vendor !== undefined && !vendors.includes(split.vendor)) {
      problems.push(`allowed_endpoints: "${text}" names ${split.vendor}, which this key does not cover (${vendors.join(', ')})`);
    } else if (split.vendor === undefined && vendors.length > 1) {
      problems.push(`allowed_endpoints: "${text}" must name its vendor on a key covering ${vendors.join(', ')}, e.g. "${vendors[0]}:${split.pattern}"`);
    }
  }
  return problems;
}

/** The patterns of `allowed` that belong to one of `vendors` (a child that keeps fewer vendors inherits only theirs). */
export function allowedForVendors(allowed: readonly string[], keyVendors: readonly VendorName[], vendors: readonly VendorName[]): string[] {
  return allowed.filter((text) => {
    const owner = splitVendorPattern(text).vendor ?? (keyVendors.length === 1 ? keyVendors[0] : undefined);
    return owner !== undefined && vendors.includes(owner);
  });
}
