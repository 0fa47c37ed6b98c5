/**
 * Judging a request against parameter rules. Pure: the proxy reads the parameters from the body
 * (form or JSON) and hands over a reader; the rule only sees names in Stripe's bracket form.
 * Whatever cannot be read unambiguously (a parameter given twice, a nested value where one string
 * is pinned, a body that cannot be parsed) is a violation: a rule is never judged on a guess.
 */
import { endpointMatches, parseEndpointPattern } from '../endpoint-pattern.ts';
import { formatUsd, type MicroUsd } from '../money.ts';
import { metadataPlaceholder, ruleLabel, type ParamConstraint, type ParameterRule } from './schema.ts';

export type ParamReading = { kind: 'absent' } | { kind: 'value'; value: string } | { kind: 'unreadable'; reason: string };

/** The request's parameter by its bracket-form name (`transfer_data[destination]`). */
export type ParamReader = (name: string) => ParamReading;

export interface RuleViolation {
  /** `rules[0] ("POST /v1/payment_intents")` */
  rule: string;
  /** which parameter (or `cost`) broke it */
  subject: string;
  /** what it was: the offending value, "(missing)", or the cost in USD */
  offending: string;
  /** one sentence: what the rule allows and what the request had */
  reason: string;
}

export function ruleApplies(rule: ParameterRule, method: string, segments: readonly string[]): boolean {
  const parsed = parseEndpointPattern(rule.endpoint);
  if (!parsed.ok) throw new Error(`stored rule endpoint is invalid: ${parsed.reason}`);
  return endpointMatches(parsed.pattern, method, segments);
}

/** The strings a constraint allows, placeholders resolved; undefined for a metadata field the key lacks. */
function allowedValues(values: readonly string[], metadata: Record<string, string>): string[] | undefined {
  const resolved: string[] = [];
  for (const value of values) {
    const field = metadataPlaceholder(value);
    if (field === undefined) resolved.push(value);
    else if (field in metadata) resolved.push(metadata[field]!);
    else return undefined;
  }
  return resolved;
}

export type ResolvedConstraint = { oneOf: string[] } | { prefix: string[] };

export function resolveConstraint(constraint: ParamConstraint, metadata: Record<string, string>): ResolvedConstraint | undefined {
  if (typeof constraint === 'string' || Array.isArray(constraint)) {
    const oneOf = allowedValues(typeof constraint === 'string' ? [constraint] : constraint, metadata);
    return oneOf && { oneOf };
  }
  return { prefix: constraint.prefix };
}

const quoted = (values: readonly string[]) => values.map((v) => `"${v}"`).join(', ');
const shown = (value: string) => (value.length > 80 ? `${value.slice(0, 80)}…` : value);

function describeAllowed(constraint: ResolvedConstraint): string {
  if ('prefix' in constraint) return `a value starting with ${quoted(constraint.prefix)}`;
  return constraint.oneOf.length === 1 ? `only "${constraint.oneOf[0]}"` : `only one of ${quoted(constraint.oneOf)}`;
}

function satisfies(constraint: ResolvedConstraint, value: string): boolean {
  if ('prefix' in constraint) return constraint.prefix.some((prefix) => value.startsWith(prefix));
  return constraint.oneOf.includes(value);
}

function paramViolation(label: string, name: string, constraint: ResolvedConstraint | undefined, reading: ParamReading): RuleViolation | undefined {
  if (constraint === undefined) {
    return { rule: label, subject: name, offending: '(unresolvable)', reason: `parameter "${name}" is pinned to a metadata field this key does not have` };
  }
  switch (reading.kind) {
    case 'absent':
      return { rule: label, subject: name, offending: '(missing)', reason: `parameter "${name}" is missing, but the rule requires ${describeAllowed(constraint)}` };
    case 'unreadable':
      return { rule: label, subject: name, offending: '(unreadable)', reason: `parameter "${name}" cannot be judged: ${reading.reason}` };
    case 'value':
      if (satisfies(constraint, reading.value)) return undefined;
      return { rule: label, subject: name, offending: shown(reading.value), reason: `parameter "${name}" is "${shown(reading.value)}", but the rule allows ${describeAllowed(constraint)}` };
  }
}

/**
 * The first violated rule among `rules` that apply to this request, judged on its parameters
 * (`params` and `currencies`); the cost part is `costViolation`, once the request is priced.
 */
export function findParamViolation(
  rules: readonly ParameterRule[],
  method: string,
  segments: readonly string[],
  read: ParamReader,
  metadata: Record<string, string>,
): RuleViolation | undefined {
  for (const [index, rule] of rules.entries()) {
    if (!ruleApplies(rule, method, segments)) continue;
    const label = ruleLabel(rule, index);
    if (rule.currencies) {
      const reading = read('currency');
      // Stripe reads currency codes case-insensitively, so the rule does too
      const lowered: ParamReading = reading.kind === 'value' ? { kind: 'value', value: reading.value.toLowerCase() } : reading;
      const violation = paramViolation(label, 'currency', { oneOf: rule.currencies }, lowered);
      if (violation) return violation;
    }
    for (const [name, constraint] of Object.entries(rule.params ?? {})) {
      const violation = paramViolation(label, name, resolveConstraint(constraint, metadata), read(name));
      if (violation) return violation;
    }
  }
  return undefined;
}

/** The first rule that applies to this request whose `max_usd_per_call` the priced cost exceeds. */
export function findCostViolation(rules: readonly ParameterRule[], method: string, segments: readonly string[], costMicros: MicroUsd): RuleViolation | undefined {
  for (const [index, rule] of rules.entries()) {
    if (rule.maxMicrosPerCall === undefined || costMicros <= rule.maxMicrosPerCall) continue;
    if (!ruleApplies(rule, method, segments)) continue;
    return {
      rule: ruleLabel(rule, index),
      subject: 'cost',
      offending: formatUsd(costMicros),
      reason: `this call costs ${formatUsd(costMicros)}, above the rule's ${formatUsd(rule.maxMicrosPerCall)} per call`,
    };
  }
  return undefined;
}
