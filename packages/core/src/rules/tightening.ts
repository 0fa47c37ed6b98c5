/**
 * A child key inherits its parent's rules and may only tighten them. A parent rule is kept when
 * one child rule is at least as tight: its endpoint covers every request the parent rule covers,
 * its per-call maximum is no higher, its currencies a subset, and every parameter the parent
 * constrains it constrains to a subset of what the parent allows. Like endpoint containment, this
 * may refuse a child that was in fact narrower (a parent rule kept by two child rules together),
 * never accept a wider one. At request time the proxy judges every key's rules in the chain anyway.
 */
import { parseEndpointPattern, patternCovers } from '../endpoint-pattern.ts';
import { formatUsd } from '../money.ts';
import { resolveConstraint, type ResolvedConstraint } from './evaluate.ts';
import { ruleLabel, type ParameterRule } from './schema.ts';

function pattern(text: string) {
  const parsed = parseEndpointPattern(text);
  if (!parsed.ok) throw new Error(`stored rule endpoint is invalid: ${parsed.reason}`);
  return parsed.pattern;
}

/** Every value `inner` allows, `outer` allows too. A prefix allows unboundedly many values, so it is never inside a list. */
function constraintWithin(inner: ResolvedConstraint, outer: ResolvedConstraint): boolean {
  const startsWithOne = (value: string, prefixes: string[]) => prefixes.some((prefix) => value.startsWith(prefix));
  if ('oneOf' in inner) return inner.oneOf.every((value) => ('oneOf' in outer ? outer.oneOf.includes(value) : startsWithOne(value, outer.prefix)));
  return 'prefix' in outer && inner.prefix.every((prefix) => startsWithOne(prefix, outer.prefix));
}

/** Why `child` is not at least as tight as `parent`, or undefined when it is. */
function looser(child: ParameterRule, parent: ParameterRule, childMetadata: Record<string, string>, parentMetadata: Record<string, string>): string | undefined {
  if (!patternCovers(pattern(child.endpoint), pattern(parent.endpoint))) return `its endpoint does not cover "${parent.endpoint}"`;
  if (parent.maxMicrosPerCall !== undefined && (child.maxMicrosPerCall === undefined || child.maxMicrosPerCall > parent.maxMicrosPerCall)) {
    return `max_usd_per_call ${child.maxMicrosPerCall === undefined ? 'is missing' : `is ${formatUsd(child.maxMicrosPerCall)}`}, above the parent's ${formatUsd(parent.maxMicrosPerCall)}`;
  }
  if (parent.currencies) {
    const wider = child.currencies === undefined ? undefined : child.currencies.filter((c) => !parent.currencies!.includes(c));
    if (wider === undefined) return `currencies are missing (the parent allows only ${parent.currencies.join(', ')})`;
    if (wider.length > 0) return `currencies ${wider.join(', ')} are not among the parent's ${parent.currencies.join(', ')}`;
  }
  for (const [name, constraint] of Object.entries(parent.params ?? {})) {
    const outer = resolveConstraint(constraint, parentMetadata);
    const mine = child.params?.[name];
    if (mine === undefined) return `params.${name} is missing`;
    const inner = resolveConstraint(mine, childMetadata);
    if (!outer || !inner || !constraintWithin(inner, outer)) return `params.${name} allows values the parent's rule does not`;
  }
  return undefined;
}

/** One problem per parent rule the child drops or widens, naming the rule. */
export function ruleWidenings(
  parentRules: readonly ParameterRule[],
  childRules: readonly ParameterRule[],
  parentMetadata: Record<string, string>,
  childMetadata: Record<string, string>,
): string[] {
  const problems: string[] = [];
  for (const [index, parent] of parentRules.entries()) {
    const reasons = childRules.map((child) => looser(child, parent, childMetadata, parentMetadata));
    if (reasons.some((reason) => reason === undefined)) continue;
    const closest = childRules.findIndex((child) => patternCovers(pattern(child.endpoint), pattern(parent.endpoint)));
    const why = closest >= 0 ? `the child's ${ruleLabel(childRules[closest]!, closest)} is wider: ${reasons[closest]}` : 'the child has no rule for this endpoint';
    problems.push(`rules: the parent's ${ruleLabel(parent, index)} is dropped or widened (${why}); a child may only tighten its parent's rules (omit "rules" to inherit them)`);
  }
  return problems;
}
