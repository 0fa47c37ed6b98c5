import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CliError } from './api-client.ts';

export interface PolicyFlags {
  policy?: string;
  vendor?: string;
  dailyUsdCap?: string;
  totalUsdCap?: string;
  allow?: string[];
  expiresIn?: string;
  expiresAt?: string;
  rateLimit?: string;
  metadata?: string[];
  unpriced?: string[];
  stripeAccount?: string[];
  rule?: string[];
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function addPolicyOptions(command: Command): Command {
  return command
    .option('--policy <file>', 'the policy as JSON (a file, or - for stdin); flags below override its fields')
    .option('--daily-usd-cap <usd|none>', 'daily spend cap in USD (UTC day); "none" for no daily cap')
    .option('--total-usd-cap <usd|none>', 'lifetime spend cap in USD')
    .option('--allow <endpoint>', 'allowed endpoint, e.g. "POST /v1/payment_intents" or "GET /v1/customers/*" (repeatable)', collect)
    .option('--expires-in <duration>', 'e.g. 30m, 8h, 24h, 7d')
    .option('--expires-at <rfc3339>', 'absolute expiry')
    .option('--rate-limit <per-minute>', 'requests per minute')
    .option('--metadata <field=value>', 'metadata such as role=billing, customer_id=cus_1, run_id=r-42 (repeatable)', collect)
    .option('--unpriced <endpoint=usd|free>', 'how to count an unpriced endpoint, e.g. "POST /v1/subscriptions=free" (repeatable)', collect)
    .option('--stripe-account <acct>', 'a connected account the key may act for via Stripe-Account (repeatable)', collect)
    .option(
      '--rule <json>',
      'a parameter rule as JSON, e.g. \'{"endpoint":"POST /v1/payment_intents","max_usd_per_call":50,"currencies":["usd"]}\' (repeatable; replaces the policy file\'s rules)',
      collect,
    );
}

function cap(value: string): number | null {
  if (value === 'none') return null;
  const usd = Number(value);
  if (!Number.isFinite(usd)) throw new CliError(`"${value}" is not a USD amount (or "none")`);
  return usd;
}

function pairs(values: string[], what: string, splitAt: 'first' | 'last'): [string, string][] {
  return values.map((text) => {
    const at = splitAt === 'first' ? text.indexOf('=') : text.lastIndexOf('=');
    if (at <= 0) throw new CliError(`${what} "${text}": expected name=value`);
    return [text.slice(0, at), text.slice(at + 1)];
  });
}

function parseRule(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new CliError(`--rule "${text}": expected a JSON object like {"endpoint":"POST /v1/payment_intents","max_usd_per_call":50}`);
  }
}

export function policyBody(flags: PolicyFlags, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const body: Record<string, unknown> = flags.policy
    ? (JSON.parse(readFileSync(flags.policy === '-' ? 0 : flags.policy, 'utf8')) as Record<string, unknown>)
    : {};
  // "--vendor stripe,openai": one key, one budget across both
  if (flags.vendor?.includes(',')) body.vendors = flags.vendor.split(',').map((v) => v.trim());
  else if (flags.vendor) body.vendor = flags.vendor;
  if (flags.dailyUsdCap !== undefined) body.daily_usd_cap = cap(flags.dailyUsdCap);
  if (flags.totalUsdCap !== undefined) body.total_usd_cap = cap(flags.totalUsdCap);
  if (flags.allow?.length) body.allowed_endpoints = flags.allow;
  if (flags.expiresIn) body.expires_in = flags.expiresIn;
  if (flags.expiresAt) body.expires_at = flags.expiresAt;
  if (flags.rateLimit) body.rate_limit = { requests_per_minute: Number(flags.rateLimit) };
  if (flags.metadata?.length) body.metadata = { ...(body.metadata as object), ...Object.fromEntries(pairs(flags.metadata, '--metadata', 'first')) };
  if (flags.unpriced?.length) {
    body.unpriced = Object.fromEntries(pairs(flags.unpriced, '--unpriced', 'last').map(([endpoint, price]) => [endpoint, price === 'free' ? 'free' : Number(price)]));
  }
  if (flags.stripeAccount?.length) body.stripe_accounts = flags.stripeAccount;
  if (flags.rule?.length) body.rules = flags.rule.map(parseRule);
  return { ...body, ...extra };
}
