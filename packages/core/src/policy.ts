import { z } from 'zod';
import { parseDuration } from './duration.ts';
import { parseEndpointPattern } from './endpoint-pattern.ts';
import { microsToUsd, usdToMicros, type MicroUsd } from './money.ts';
import { usdAmount } from './usd-schema.ts';
import { ApprovalSettingsSchema, approvalSettingsFromJson, approvalSettingsToJson, type ApprovalSettings } from './approvals/approval-settings.ts';
import { AlertSettingsSchema, alertSettingsFromJson, alertSettingsToJson, type AlertSettings } from './alerts/alert-settings.ts';
import { ruleFromJson, RulesSchema, ruleToJson, unresolvedPlaceholders, type ParameterRule, type ParameterRuleJson } from './rules/schema.ts';
import { policyVendors, splitVendorPattern, vendorScopeProblems } from './vendor-scope.ts';

export const VENDOR_NAMES = ['stripe', 'twilio', 'openai'] as const;
export type VendorName = (typeof VENDOR_NAMES)[number];


const plainPatternText = z.string().superRefine((text, ctx) => {
  const parsed = parseEndpointPattern(text);
  if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.reason });
});

/** `METHOD /path`, optionally naming its vendor: `openai:POST /v1/chat/completions` (vendor-scope.ts). */
const endpointPatternText = z.string().superRefine((text, ctx) => {
  const parsed = parseEndpointPattern(splitVendorPattern(text).pattern);
  if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.reason });
});

const durationText = z.string().refine((text) => parseDuration(text) !== undefined, {
  message: 'expires_in is a duration like "30m", "8h", "24h" or "7d"',
});

const metadataSchema = z
  .record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'metadata field names are 1-64 of A-Z a-z 0-9 _ . -'), z.string().max(500))
  .refine((m) => Object.keys(m).length <= 50, { message: 'at most 50 metadata fields' });

/**
 * How a capped key treats an endpoint that can move money but has no price formula:
 * `"free"` (the operator vouches it costs nothing) or a fixed USD price per call.
 */
const unpricedSchema = z.record(plainPatternText, z.union([z.literal('free'), usdAmount]));

/**
 * Twilio pricing settings of a key (only on a twilio key), snake_case like the rest of the policy:
 * - `default_call_time_limit_seconds`: the TimeLimit keyleash adds to a call that sets none, so
 *   its cost is bounded and can be priced (without it such a call is unpriced);
 * - `fallback_*`: the price of a destination the Twilio price table has no price for (without it,
 *   a message or call there is unpriced: refused under a capped key).
 * A child may lower the time limit and raise the fallbacks, never the reverse (derivation.ts).
 */
const twilioSettingsSchema = z
  .object({
    default_call_time_limit_seconds: z.number().int().positive().max(86_400).nullable().optional(),
    fallback_sms_usd_per_segment: usdAmount.nullable().optional(),
    fallback_mms_usd_per_message: usdAmount.nullable().optional(),
    fallback_voice_usd_per_minute: usdAmount.nullable().optional(),
  })
  .strict();
export type TwilioSettingsJson = z.infer<typeof twilioSettingsSchema>;

/**
 * OpenAI settings of a key (only on a key that covers openai):
 * - `default_max_output_tokens`: the output-token bound keyleash writes into a model call that
 *   sets none (`max_completion_tokens` / `max_output_tokens`), so its worst case can be reserved;
 *   unset = OPENAI_DEFAULT_MAX_OUTPUT_TOKENS. A child may lower it, never raise it.
 */
const openAISettingsSchema = z
  .object({ default_max_output_tokens: z.number().int().positive().max(1_000_000).optional() })
  .strict();
export type OpenAISettingsJson = z.infer<typeof openAISettingsSchema>;

/** The output-token bound applied to a model call that sets none, when the policy does not say. */
export const OPENAI_DEFAULT_MAX_OUTPUT_TOKENS = 4096;

/** The policy fields shared by a root key's issue request and a child's derive request. */
const policyFields = {
  daily_usd_cap: usdAmount.nullable(),
  total_usd_cap: usdAmount.nullable(),
  allowed_endpoints: z.array(endpointPatternText).min(1, 'allow at least one endpoint').max(200),
  expires_in: durationText,
  expires_at: z.iso.datetime({ offset: true, message: 'expires_at is an RFC 3339 timestamp' }),
  rate_limit: z.object({ requests_per_minute: z.number().int().positive().max(1_000_000) }).strict().nullable(),
  metadata: metadataSchema,
  unpriced: unpricedSchema,
  /** Connected accounts the key may act for via `Stripe-Account`; empty = the platform account only. */
  stripe_accounts: z.array(z.string().regex(/^acct_[A-Za-z0-9]+$/, 'Stripe account ids look like acct_…')).max(100),
  twilio: twilioSettingsSchema,
  /** parameter rules (rules/schema.ts): every rule whose endpoint matches a request must hold */
  rules: RulesSchema,
  /** spend alerts at fractions of the daily cap (alerts/alert-settings.ts) */
  alerts: AlertSettingsSchema,
  /** priced calls above a cost wait for a human (approvals/approval-settings.ts) */
  approval: ApprovalSettingsSchema,
  openai: openAISettingsSchema,
  /** several vendors under one budget; `vendor` names one */
  vendors: z.array(z.enum(VENDOR_NAMES)).min(1, 'list at least one vendor').max(VENDOR_NAMES.length),
};

function exactlyOneExpiry(body: { expires_in?: string | undefined; expires_at?: string | undefined }, ctx: z.RefinementCtx) {
  if (body.expires_in !== undefined && body.expires_at !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['expires_in'], message: 'give expires_in or expires_at, not both' });
  }
}

/** `POST /api/vault_keys` by the admin: a root key. Caps and expiry must be stated explicitly. */
export const IssueKeyRequest = z
  .object({
    vendor: z.enum(VENDOR_NAMES).optional(),
    vendors: policyFields.vendors.optional(),
    daily_usd_cap: policyFields.daily_usd_cap,
    total_usd_cap: policyFields.total_usd_cap.default(null),
    allowed_endpoints: policyFields.allowed_endpoints,
    expires_in: policyFields.expires_in.optional(),
    expires_at: policyFields.expires_at.optional(),
    rate_limit: policyFields.rate_limit.default(null),
    metadata: policyFields.metadata.default({}),
    unpriced: policyFields.unpriced.default({}),
    stripe_accounts: policyFields.stripe_accounts.default([]),
    twilio: policyFields.twilio.optional(),
    rules: policyFields.rules.default([]),
    alerts: policyFields.alerts.optional(),
    approval: policyFields.approval.optional(),
    openai: policyFields.openai.optional(),
  })
  .strict()
  .superRefine((body, ctx) => {
    exactlyOneExpiry(body, ctx);
    for (const problem of unresolvedPlaceholders(body.rules, body.metadata)) ctx.addIssue({ code: 'custom', path: ['rules'], message: problem });
    if (body.alerts && body.daily_usd_cap === null) {
      ctx.addIssue({ code: 'custom', path: ['alerts'], message: 'alerts are fractions of the daily cap, so they need a daily_usd_cap' });
    }
    if ((body.vendor === undefined) === (body.vendors === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['vendor'], message: 'give vendor (one vendor) or vendors (several, one budget), not both and not neither' });
      return;
    }
    const vendors = body.vendors ?? [body.vendor!];
    for (const problem of vendorScopeProblems(body.allowed_endpoints, vendors)) ctx.addIssue({ code: 'custom', path: [problem.split(':')[0]!], message: problem.slice(problem.indexOf(':') + 2) });
    if (body.twilio !== undefined && !vendors.includes('twilio')) {
      ctx.addIssue({ code: 'custom', path: ['twilio'], message: `twilio settings apply only to a twilio key, not a ${vendors.join('+')} key` });
    }
    if (body.openai !== undefined && !vendors.includes('openai')) {
      ctx.addIssue({ code: 'custom', path: ['openai'], message: `openai settings apply only to a key that covers openai, not a ${vendors.join('+')} key` });
    }
    if (body.expires_in === undefined && body.expires_at === undefined) {
      ctx.addIssue({ code: 'custom', path: ['expires_in'], message: 'a key needs an expiry: expires_in (e.g. "24h") or expires_at' });
    }
  });
export type IssueKeyRequest = z.infer<typeof IssueKeyRequest>;

/**
 * `POST /api/vault_keys` with `parent_vault_key`: a child. Every omitted field is inherited from
 * the parent (so a child is never accidentally wider than asked); `vendor` may be given but must match.
 */
export const DeriveKeyRequest = z
  .object({
    parent_vault_key: z.string().min(1),
    vendor: z.enum(VENDOR_NAMES).optional(),
    vendors: policyFields.vendors.optional(),
    daily_usd_cap: policyFields.daily_usd_cap.optional(),
    total_usd_cap: policyFields.total_usd_cap.optional(),
    allowed_endpoints: policyFields.allowed_endpoints.optional(),
    expires_in: policyFields.expires_in.optional(),
    expires_at: policyFields.expires_at.optional(),
    rate_limit: policyFields.rate_limit.optional(),
    metadata: policyFields.metadata.optional(),
    unpriced: policyFields.unpriced.optional(),
    stripe_accounts: policyFields.stripe_accounts.optional(),
    twilio: policyFields.twilio.optional(),
    rules: policyFields.rules.optional(),
    alerts: policyFields.alerts.optional(),
    approval: policyFields.approval.optional(),
    openai: policyFields.openai.optional(),
  })
  .strict()
  .superRefine(exactlyOneExpiry);
export type DeriveKeyRequest = z.infer<typeof DeriveKeyRequest>;

/** The policy as keyleash holds it: money in micro-USD, expiry as an instant. */
export interface Policy {
  /** the key's vendor; with several, the first of `vendors` */
  vendor: VendorName;
  /** set only on a key covering several vendors (see policyVendors) */
  vendors?: VendorName[];
  dailyCapMicros: MicroUsd | null;
  totalCapMicros: MicroUsd | null;
  allowedEndpoints: string[];
  expiresAt: number;
  rateLimitPerMinute: number | null;
  metadata: Record<string, string>;
  unpriced: Record<string, 'free' | MicroUsd>;
  stripeAccounts: string[];
  /** twilio keys only; absent = no settings (every field null) */
  twilio?: TwilioSettings;
  /** parameter rules; absent (keys issued before rules existed) = none */
  rules?: ParameterRule[];
  /** spend alerts; absent = the server-wide default, if any */
  alerts?: AlertSettings;
  /** calls costing more wait for a human; absent = none */
  approval?: ApprovalSettings;
  /** keys covering openai only; absent = the defaults */
  openai?: OpenAISettings;
}

/** The OpenAI settings as keyleash holds them. */
export interface OpenAISettings {
  defaultMaxOutputTokens: number;
}

/** The Twilio settings as keyleash holds them: money in micro-USD; null = not set. */
export interface TwilioSettings {
  defaultCallTimeLimitSeconds: number | null;
  fallbackSmsMicrosPerSegment: MicroUsd | null;
  fallbackMmsMicrosPerMessage: MicroUsd | null;
  fallbackVoiceMicrosPerMinute: MicroUsd | null;
}

export const NO_TWILIO_SETTINGS: TwilioSettings = Object.freeze({
  defaultCallTimeLimitSeconds: null,
  fallbackSmsMicrosPerSegment: null,
  fallbackMmsMicrosPerMessage: null,
  fallbackVoiceMicrosPerMinute: null,
});

const usdOrNull = (usd: number | null | undefined): MicroUsd | null => (usd === null || usd === undefined ? null : usdToMicros(usd));
const usdOrNullJson = (micros: MicroUsd | null): number | null => (micros === null ? null : microsToUsd(micros));

/** `over` applied on top of `base`: an omitted field keeps the base's value, null clears it. */
export function twilioSettingsFromJson(json: TwilioSettingsJson, base: TwilioSettings = NO_TWILIO_SETTINGS): TwilioSettings {
  return {
    defaultCallTimeLimitSeconds: json.default_call_time_limit_seconds === undefined ? base.defaultCallTimeLimitSeconds : json.default_call_time_limit_seconds,
    fallbackSmsMicrosPerSegment: json.fallback_sms_usd_per_segment === undefined ? base.fallbackSmsMicrosPerSegment : usdOrNull(json.fallback_sms_usd_per_segment),
    fallbackMmsMicrosPerMessage: json.fallback_mms_usd_per_message === undefined ? base.fallbackMmsMicrosPerMessage : usdOrNull(json.fallback_mms_usd_per_message),
    fallbackVoiceMicrosPerMinute: json.fallback_voice_usd_per_minute === undefined ? base.fallbackVoiceMicrosPerMinute : usdOrNull(json.fallback_voice_usd_per_minute),
  };
}

export function twilioSettingsToJson(settings: TwilioSettings): Required<{ [K in keyof TwilioSettingsJson]: number | null }> {
  return {
    default_call_time_limit_seconds: settings.defaultCallTimeLimitSeconds,
    fallback_sms_usd_per_segment: usdOrNullJson(settings.fallbackSmsMicrosPerSegment),
    fallback_mms_usd_per_message: usdOrNullJson(settings.fallbackMmsMicrosPerMessage),
    fallback_voice_usd_per_minute: usdOrNullJson(settings.fallbackVoiceMicrosPerMinute),
  };
}

export function expiryFrom(body: { expires_in?: string | undefined; expires_at?: string | undefined }, now: number): number | undefined {
  if (body.expires_at !== undefined) return Date.parse(body.expires_at);
  if (body.expires_in !== undefined) return now + parseDuration(body.expires_in)!;
  return undefined;
}

export function unpricedToMicros(unpriced: Record<string, 'free' | number>): Record<string, 'free' | MicroUsd> {
  return Object.fromEntries(
    Object.entries(unpriced).map(([pattern, price]) => [pattern, price === 'free' ? 'free' : usdToMicros(price)]),
  );
}

export function policyFromIssueRequest(body: IssueKeyRequest, now: number): Policy {
  const vendors = body.vendors ?? [body.vendor!];
  return {
    vendor: vendors[0]!,
    ...(vendors.length > 1 ? { vendors } : {}),
    dailyCapMicros: body.daily_usd_cap === null ? null : usdToMicros(body.daily_usd_cap),
    totalCapMicros: body.total_usd_cap === null ? null : usdToMicros(body.total_usd_cap),
    allowedEndpoints: body.allowed_endpoints,
    expiresAt: expiryFrom(body, now)!,
    rateLimitPerMinute: body.rate_limit?.requests_per_minute ?? null,
    metadata: body.metadata,
    unpriced: unpricedToMicros(body.unpriced),
    stripeAccounts: body.stripe_accounts,
    ...(body.twilio ? { twilio: twilioSettingsFromJson(body.twilio) } : {}),
    rules: body.rules.map(ruleFromJson),
    ...(body.alerts ? { alerts: alertSettingsFromJson(body.alerts) } : {}),
    ...(body.approval ? { approval: approvalSettingsFromJson(body.approval) } : {}),
    ...(body.openai ? { openai: openAISettingsFromJson(body.openai) } : {}),
  };
}

export function openAISettingsFromJson(json: OpenAISettingsJson, base?: OpenAISettings): OpenAISettings {
  return { defaultMaxOutputTokens: json.default_max_output_tokens ?? base?.defaultMaxOutputTokens ?? OPENAI_DEFAULT_MAX_OUTPUT_TOKENS };
}

/** The public JSON shape of a policy: the same snake_case fields as at issue. */
export interface PolicyJson {
  /** the key's vendor; with several, the first of `vendors` */
  vendor: VendorName;
  /** every vendor the key covers (one budget across them) */
  vendors: VendorName[];
  daily_usd_cap: number | null;
  total_usd_cap: number | null;
  allowed_endpoints: string[];
  expires_at: string;
  rate_limit: { requests_per_minute: number } | null;
  metadata: Record<string, string>;
  unpriced: Record<string, 'free' | number>;
  stripe_accounts: string[];
  /** twilio keys with settings only */
  twilio?: ReturnType<typeof twilioSettingsToJson>;
  rules: ParameterRuleJson[];
  alerts?: ReturnType<typeof alertSettingsToJson>;
  approval?: ReturnType<typeof approvalSettingsToJson>;
  /** openai keys with settings only */
  openai?: { default_max_output_tokens: number };
}

export function policyToJson(policy: Policy): PolicyJson {
  return {
    vendor: policy.vendor,
    vendors: [...policyVendors(policy)],
    daily_usd_cap: policy.dailyCapMicros === null ? null : microsToUsd(policy.dailyCapMicros),
    total_usd_cap: policy.totalCapMicros === null ? null : microsToUsd(policy.totalCapMicros),
    allowed_endpoints: policy.allowedEndpoints,
    expires_at: new Date(policy.expiresAt).toISOString(),
    rate_limit: policy.rateLimitPerMinute === null ? null : { requests_per_minute: policy.rateLimitPerMinute },
    metadata: policy.metadata,
    unpriced: Object.fromEntries(
      Object.entries(policy.unpriced).map(([pattern, price]) => [pattern, price === 'free' ? 'free' : microsToUsd(price)]),
    ),
    stripe_accounts: policy.stripeAccounts,
    ...(policy.twilio ? { twilio: twilioSettingsToJson(policy.twilio) } : {}),
    rules: (policy.rules ?? []).map(ruleToJson),
    ...(policy.alerts ? { alerts: alertSettingsToJson(policy.alerts) } : {}),
    ...(policy.approval ? { approval: approvalSettingsToJson(policy.approval) } : {}),
    ...(policy.openai ? { openai: { default_max_output_tokens: policy.openai.defaultMaxOutputTokens } } : {}),
  };
}

/** zod issues as sentences naming the field: what the API returns on a 400. */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const where = issue.path.length ? issue.path.join('.') : 'body';
    return `${where}: ${issue.message}`;
  });
}
