/**
 * Parameter rules: the policy's `rules`, constraints on what a call may say, beyond which endpoint
 * it calls and how much the key may spend in a day. Every rule whose endpoint matches a request
 * must hold (see evaluate.ts); a child may only tighten its parent's rules (tightening.ts).
 */
import { z } from 'zod';
import { parseEndpointPattern } from '../endpoint-pattern.ts';
import { microsToUsd, usdToMicros, type MicroUsd } from '../money.ts';
import { usdAmount } from '../usd-schema.ts';

/** `{metadata.customer_id}`: the presenting key's own metadata field, resolved at request time. */
const PLACEHOLDER = /^\{metadata\.([A-Za-z0-9_.-]{1,64})\}$/;

export function metadataPlaceholder(value: string): string | undefined {
  return PLACEHOLDER.exec(value)?.[1];
}

/** A parameter name as Stripe's bracket form writes it: `currency`, `transfer_data[destination]`, `metadata[order]`. */
const PARAM_NAME = /^[A-Za-z0-9_.-]{1,100}(\[[A-Za-z0-9_.-]{1,100}\]){0,8}$/;

/** `transfer_data[destination]` -> ['transfer_data', 'destination'] */
export function paramPath(name: string): string[] {
  return name.replace(/\]/g, '').split('[');
}

const paramString = z.string().min(1).max(500);

/**
 * What one parameter may be: an exact string, a list of allowed strings, or `{ prefix: [...] }`
 * (it must start with one of them). An exact string or list entry may be `{metadata.<field>}`.
 */
export const ParamConstraintSchema = z.union([
  paramString,
  z.array(paramString).min(1).max(100),
  z.object({ prefix: z.array(paramString).min(1).max(100) }).strict(),
]);
export type ParamConstraint = z.infer<typeof ParamConstraintSchema>;

export const ParameterRuleSchema = z
  .object({
    endpoint: z.string().superRefine((text, ctx) => {
      const parsed = parseEndpointPattern(text);
      if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.reason });
    }),
    max_usd_per_call: usdAmount.optional(),
    currencies: z
      .array(z.string().regex(/^[A-Za-z]{3}$/, 'currencies are ISO 4217 codes like "usd"'))
      .min(1)
      .max(50)
      .optional(),
    params: z
      .record(z.string().regex(PARAM_NAME, 'parameter names look like "currency" or "transfer_data[destination]"'), ParamConstraintSchema)
      .refine((params) => Object.keys(params).length <= 50, 'at most 50 parameters per rule')
      .optional(),
  })
  .strict()
  .refine((rule) => rule.max_usd_per_call !== undefined || rule.currencies !== undefined || (rule.params && Object.keys(rule.params).length > 0), {
    message: 'a rule needs at least one of max_usd_per_call, currencies, params',
  });

export const RulesSchema = z.array(ParameterRuleSchema).max(100);
export type ParameterRuleJson = z.infer<typeof ParameterRuleSchema>;

/** A rule as keyleash holds it: money in micro-USD, currencies lower case. */
export interface ParameterRule {
  endpoint: string;
  maxMicrosPerCall?: MicroUsd;
  currencies?: string[];
  params?: Record<string, ParamConstraint>;
}

export function ruleFromJson(json: ParameterRuleJson): ParameterRule {
  return {
    endpoint: json.endpoint,
    ...(json.max_usd_per_call !== undefined ? { maxMicrosPerCall: usdToMicros(json.max_usd_per_call) } : {}),
    ...(json.currencies ? { currencies: json.currencies.map((c) => c.toLowerCase()) } : {}),
    ...(json.params ? { params: json.params } : {}),
  };
}

export function ruleToJson(rule: ParameterRule): ParameterRuleJson {
  return {
    endpoint: rule.endpoint,
    ...(rule.maxMicrosPerCall !== undefined ? { max_usd_per_call: microsToUsd(rule.maxMicrosPerCall) } : {}),
    ...(rule.currencies ? { currencies: rule.currencies } : {}),
    ...(rule.params ? { params: rule.params } : {}),
  };
}

/** How a rule is named in refusals and problems: its place in the key's list and its endpoint. */
export function ruleLabel(rule: ParameterRule | ParameterRuleJson, index: number): string {
  return `rules[${index}] ("${rule.endpoint}")`;
}

/** Every `{metadata.<field>}` a rule refers to that `metadata` does not have. */
export function unresolvedPlaceholders(rules: readonly (ParameterRule | ParameterRuleJson)[], metadata: Record<string, string>): string[] {
  const problems: string[] = [];
  rules.forEach((rule, index) => {
    for (const [name, constraint] of Object.entries(rule.params ?? {})) {
      const values = typeof constraint === 'string' ? [constraint] : Array.isArray(constraint) ? constraint : [];
      for (const value of values) {
        const field = metadataPlaceholder(value);
        if (field !== undefined && !(field in metadata)) {
          problems.push(`${ruleLabel(rule, index)}.params.${name}: "${value}" refers to metadata.${field}, which this key does not have`);
        }
      }
    }
  });
  return problems;
}
