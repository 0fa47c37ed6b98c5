/**
 * What a child key may be. Every path that creates a child (`POST /api/vault_keys` with
 * `parent_vault_key`, `keyleash keys derive --parent`, `deriveChild()` in @keyleash/client) goes
 * through `deriveChildPolicy`, so "a child is never wider than its parent" is enforced in exactly one
 * place (the HashiCorp Vault token-store habit). The rules, field by field:
 *
 * - every field the request omits is inherited from the parent unchanged;
 * - `vendor` / `vendors`: a subset of the parent's vendors (omitted = the parent's); a child that
 *   keeps fewer vendors inherits only their endpoint patterns;
 * - `daily_usd_cap` / `total_usd_cap`: <= the parent's; `null` (no cap) only under an uncapped parent;
 * - `allowed_endpoints`: each pattern inside one parent pattern of the same vendor (containment, not string equality);
 * - `expires_in` / `expires_at`: no later than the parent's expiry, and in the future;
 * - `rate_limit`: <= the parent's; `null` (unlimited) only under an unlimited parent;
 * - `metadata`: merged over the parent's; new fields may be added, inherited ones never changed;
 * - `unpriced`: replaces the parent's list; every entry covered by a parent entry, and no call
 *   counted at less than the parent would count it ("free" counts as $0);
 * - `stripe_accounts`: a subset of the parent's;
 * - `rules`: replaces the parent's list, but every parent rule must be kept by a child rule at
 *   least as tight (rules/tightening.ts); omitted = the parent's rules;
 * - `alerts`: thresholds are the child's own choice (they only notify), but the webhook URL is the
 *   parent's: only an admin may point keyleash at a URL, or a key holder could make the proxy send
 *   requests into its own network;
 * - `approval`: a lower threshold and a shorter timeout than the parent's, never none under a parent that has one;
 * - `openai.default_max_output_tokens`: <= the parent's (a child reserves no more per model call);
 * - the parent and every ancestor must be active (not revoked, not expired), and the child's depth
 *   (parent's + 1) at most `maxDepth`.
 *
 * Every violated rule is reported, not just the first. Derivation only decides the policy: at
 * request time the proxy still checks the whole chain (revocation, expiry, rate limits and caps of
 * every ancestor), so a child can never outlive or outspend an ancestor either.
 */
import { parseEndpointPattern, uncoveredPatterns, patternCovers, type EndpointPattern } from './endpoint-pattern.ts';
import { formatUsd, usdToMicros, type MicroUsd } from './money.ts';
import { expiryFrom, openAISettingsFromJson, OPENAI_DEFAULT_MAX_OUTPUT_TOKENS, twilioSettingsFromJson, unpricedToMicros, type DeriveKeyRequest, type Policy, type TwilioSettings } from './policy.ts';
import { alertSettingsFromJson } from './alerts/alert-settings.ts';
import { approvalSettingsFromJson, approvalWidenings } from './approvals/approval-settings.ts';
import { ruleFromJson, unresolvedPlaceholders } from './rules/schema.ts';
import { ruleWidenings } from './rules/tightening.ts';
import { allowedForVendors, patternsForVendor, policyVendors, vendorScopeProblems } from './vendor-scope.ts';
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
  const parentVendors = policyVendors(base);
  if (request.vendor !== undefined && request.vendors !== undefined) problems.push('vendor: give vendor or vendors, not both');
  const vendors = request.vendors ?? (request.vendor !== undefined ? [request.vendor] : [...parentVendors]);
  for (const vendor of vendors) {
    if (parentVendors.includes(vendor)) continue;
    problems.push(
      parentVendors.length === 1
        ? `vendor: a child of a ${base.vendor} key must be a ${base.vendor} key, not ${vendor}`
        : `vendors: ${vendor} is not one of the parent's vendors (${parentVendors.join(', ')})`,
    );
  }

  const dailyCapMicros = capWithin('daily_usd_cap', request.daily_usd_cap, base.dailyCapMicros, problems);
  const totalCapMicros = capWithin('total_usd_cap', request.total_usd_cap, base.totalCapMicros, problems);

  const allowedEndpoints = request.allowed_endpoints ?? allowedForVendors(base.allowedEndpoints, parentVendors, vendors);
  const foreignVendor = vendors.some((vendor) => !parentVendors.includes(vendor));
  if (allowedEndpoints.length === 0 && !foreignVendor) problems.push(`allowed_endpoints: the parent allows nothing for ${vendors.join(', ')}; name the child's endpoints`);
  problems.push(...vendorScopeProblems(allowedEndpoints, vendors));
  // a vendor the parent lacks has no parent pattern: every child pattern for it is reported too
  for (const vendor of vendors) {
    const prefix = parentVendors.length > 1 || vendors.length > 1 ? `${vendor}:` : '';
    for (const wider of uncoveredPatterns(patterns(patternsForVendor(base.allowedEndpoints, parentVendors, vendor)), patterns(patternsForVendor(allowedEndpoints, vendors, vendor)))) {
      problems.push(`allowed_endpoints: "${prefix}${wider.source}" is not inside any of the parent's patterns (${base.allowedEndpoints.join(', ')})`);
    }
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
  problems.push(...unpricedWidenings(base.unpriced, unpriced));

  const stripeAccounts = request.stripe_accounts ?? base.stripeAccounts;
  for (const account of stripeAccounts) {
    if (!base.stripeAccounts.includes(account)) problems.push(`stripe_accounts: ${account} is not one of the parent's connected accounts`);
  }

  const twilio = request.twilio === undefined ? base.twilio : twilioSettingsFromJson(request.twilio, base.twilio);
  if (request.twilio !== undefined && !vendors.includes('twilio')) problems.push(`twilio: settings apply only to a twilio key, not a ${vendors.join('+')} key`);
  if (twilio) problems.push(...twilioWidenings(base.twilio, twilio));

  const rules = request.rules === undefined ? base.rules : request.rules.map(ruleFromJson);
  if (request.rules !== undefined) {
    problems.push(...unresolvedPlaceholders(request.rules, metadata), ...ruleWidenings(base.rules ?? [], rules ?? [], base.metadata, metadata));
  }

  const alerts = request.alerts === undefined ? base.alerts : alertSettingsFromJson({ ...request.alerts, webhook_url: request.alerts.webhook_url ?? base.alerts?.webhookUrl ?? null });
  if (alerts && alerts.webhookUrl !== (base.alerts?.webhookUrl ?? null)) {
    problems.push('alerts.webhook_url: a child cannot change where alerts are sent; omit it to inherit the parent\'s');
  }
  if (alerts && dailyCapMicros === null) problems.push('alerts: alerts are fractions of the daily cap, so they need a daily_usd_cap');

  const approval = request.approval === undefined ? base.approval : approvalSettingsFromJson(request.approval);
  problems.push(...approvalWidenings(base.approval, approval));

  const openai = request.openai === undefined ? base.openai : openAISettingsFromJson(request.openai, base.openai);
  if (request.openai !== undefined && !vendors.includes('openai')) problems.push(`openai: settings apply only to a key that covers openai, not a ${vendors.join('+')} key`);
  const parentOutputBound = base.openai?.defaultMaxOutputTokens ?? OPENAI_DEFAULT_MAX_OUTPUT_TOKENS;
  if (openai && openai.defaultMaxOutputTokens > parentOutputBound) {
    problems.push(`openai.default_max_output_tokens: ${openai.defaultMaxOutputTokens} is above the parent's ${parentOutputBound}`);
  }

  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    policy: {
      vendor: vendors[0]!,
      ...(vendors.length > 1 ? { vendors } : {}),
      dailyCapMicros,
      totalCapMicros,
      allowedEndpoints,
      expiresAt,
      rateLimitPerMinute,
      metadata,
      unpriced,
      stripeAccounts,
      ...(twilio ? { twilio } : {}),
      ...(rules ? { rules } : {}),
      ...(alerts ? { alerts } : {}),
      ...(approval ? { approval } : {}),
      ...(openai ? { openai } : {}),
    },
  };
}

/**
 * A child's Twilio settings, never wider than its parent's:
 * - the default call TimeLimit bounds calls that set none: no longer than the parent's, and not
 *   absent (unbounded) when the parent has one;
 * - a fallback price counts destinations the price table lacks: a child may count them dearer
 *   (so fewer fit under every cap in the chain) or not at all (refused under a cap), never cheaper,
 *   and never where the parent has no fallback. "At most the parent's" would let a child under-count
 *   real spend and overspend every ancestor's cap.
 */
function twilioWidenings(parent: TwilioSettings | undefined, child: TwilioSettings): string[] {
  const problems: string[] = [];
  const parentLimit = parent?.defaultCallTimeLimitSeconds ?? null;
  if (parentLimit !== null && (child.defaultCallTimeLimitSeconds === null || child.defaultCallTimeLimitSeconds > parentLimit)) {
    problems.push(
      `twilio.default_call_time_limit_seconds: ${child.defaultCallTimeLimitSeconds ?? 'none (unbounded calls)'} is longer than the parent's ${parentLimit} seconds`,
    );
  }
  const fallbacks = [
    ['fallback_sms_usd_per_segment', 'fallbackSmsMicrosPerSegment'],
    ['fallback_mms_usd_per_message', 'fallbackMmsMicrosPerMessage'],
    ['fallback_voice_usd_per_minute', 'fallbackVoiceMicrosPerMinute'],
  ] as const;
  for (const [name, field] of fallbacks) {
    const mine = child[field];
    if (mine === null) continue;
    const theirs = parent?.[field] ?? null;
    if (theirs === null) problems.push(`twilio.${name}: the parent prices no destination by a fallback, so a child cannot either`);
    else if (mine < theirs) problems.push(`twilio.${name}: ${formatUsd(mine)} is below the parent's ${formatUsd(theirs)}; a child may count such destinations dearer, never cheaper`);
  }
  return problems;
}

function priceText(price: 'free' | MicroUsd): string {
  return price === 'free' ? 'free' : formatUsd(price);
}

/**
 * Where the child's unpriced entries would let it count a request at less than its parent does (or
 * count one the parent has no entry for). The proxy prices a request at the FIRST matching entry,
 * so one covering parent entry is not enough: an earlier, dearer parent entry may be the one that
 * applies (parent {"POST /v1/subscriptions": 5, "POST /v1/*": "free"}, child
 * {"POST /v1/subscriptions": "free"}). For each child entry and each dearer parent entry, the
 * requests both match are a problem unless an earlier entry (child's or parent's) takes all of them.
 * Like `uncoveredPatterns`, this may refuse a child that was in fact narrower, never the reverse.
 */
function unpricedWidenings(parentUnpriced: Policy['unpriced'], childUnpriced: Policy['unpriced']): string[] {
  const entries = (unpriced: Policy['unpriced']) =>
    Object.entries(unpriced).map(([text, price]) => ({ pattern: patterns([text])[0]!, price, micros: price === 'free' ? 0 : price }));
  const parent = entries(parentUnpriced);
  const child = entries(childUnpriced);
  const problems: string[] = [];
  for (const [a, entry] of child.entries()) {
    const text = entry.pattern.source;
    if (!parent.some((p) => patternCovers(p.pattern, entry.pattern))) {
      problems.push(`unpriced."${text}": the parent has no unpriced entry covering this endpoint, so a child cannot add one`);
      continue;
    }
    for (const [b, dearer] of parent.entries()) {
      if (entry.micros >= dearer.micros) continue;
      const both = intersection(entry.pattern, dearer.pattern);
      if (!both) continue;
      const takenEarlier = [...child.slice(0, a), ...parent.slice(0, b)].some((earlier) => patternCovers(earlier.pattern, both));
      if (takenEarlier) continue;
      problems.push(
        `unpriced."${text}": the parent counts "${dearer.pattern.source}" at ${priceText(dearer.price)} per call, so a child cannot count ${both.source} at ${priceText(entry.price)}`,
      );
      break;
    }
  }
  return problems;
}

/** The pattern matching exactly the requests both match, or undefined when no request matches both. */
function intersection(a: EndpointPattern, b: EndpointPattern): EndpointPattern | undefined {
  const method = a.method === '*' ? b.method : b.method === '*' || b.method === a.method ? a.method : undefined;
  if (method === undefined) return undefined;
  const segments: string[] = [];
  for (let i = 0; ; i++) {
    const x = a.segments[i];
    const y = b.segments[i];
    // "**" takes one or more segments: whatever the other pattern has from here on, if anything
    if (x === '**' || y === '**') {
      const other = x === '**' ? b.segments : a.segments;
      if (other[i] === undefined) return undefined;
      segments.push(...other.slice(i));
      break;
    }
    if (x === undefined || y === undefined) {
      if (x !== y) return undefined;
      break;
    }
    if (x !== '*' && y !== '*' && x !== y) return undefined;
    segments.push(x === '*' ? y : x);
  }
  return { method, segments, source: `${method} /${segments.join('/')}` };
}
