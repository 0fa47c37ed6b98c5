/**
 * The Stripe operation table checked against Stripe's OpenAPI spec (v524, upstream-specs/):
 * every POST and DELETE operation is classified, nothing else is listed without a reason, and
 * every money parameter the spec gives a free operation (derived here from the request schemas,
 * following $ref / anyOf / items / additionalProperties to any depth) is either refused — sent
 * in the body or the query string, through the real vendor — or waived with a reason.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_FX_TABLE, type Store, type VaultKeyRecord } from '@keyleash/core';
import { describe, expect, it } from 'vitest';
import { createStripeVendor } from '../src/vendors/stripe/index.ts';
import { NON_SPEC_OPERATIONS, STRIPE_OPERATIONS } from '../src/vendors/stripe/operations.ts';
import type { InboundRequest, Pricing, PricingContext } from '../src/vendors/vendor.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const spec = JSON.parse(readFileSync(path.join(repoRoot, 'upstream-specs/stripe-openapi/spec3.v524.json'), 'utf8')) as {
  paths: Record<string, Record<string, Operation>>;
};

interface Schema {
  $ref?: string;
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  additionalProperties?: boolean | Schema;
}
interface Operation {
  parameters?: { in: string; name: string; schema?: Schema }[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
}

/** The names the issue calls money, written independently of the proxy's own rule. */
function isMoneyName(name: string): boolean {
  return (
    name === 'amount' ||
    name === 'amounts' ||
    name === 'balance' ||
    name.startsWith('amount_') ||
    name.endsWith('_amount') ||
    name.endsWith('_amounts') ||
    name.includes('_amount_') ||
    ['application_fee', 'unit_cost', 'unit_cost_decimal'].includes(name)
  );
}

function deref(schema: Schema | undefined): Schema | undefined {
  let current = schema;
  while (current?.$ref) {
    current = current.$ref
      .replace(/^#\//, '')
      .split('/')
      .reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], spec) as Schema;
  }
  return current;
}

/** Money parameters of a schema as concrete key paths (array items as index 0, map keys as `usd`). */
function moneyPaths(schema: Schema | undefined, prefix: string[] = [], seen: Set<Schema> = new Set()): string[][] {
  const resolved = deref(schema);
  if (!resolved || seen.has(resolved)) return [];
  const inner = new Set(seen).add(resolved);
  const out: string[][] = [];
  for (const alternative of [...(resolved.anyOf ?? []), ...(resolved.oneOf ?? []), ...(resolved.allOf ?? [])]) out.push(...moneyPaths(alternative, prefix, inner));
  if (resolved.items) out.push(...moneyPaths(resolved.items, [...prefix, '0'], inner));
  if (typeof resolved.additionalProperties === 'object') out.push(...moneyPaths(resolved.additionalProperties, [...prefix, 'usd'], inner));
  for (const [name, child] of Object.entries(resolved.properties ?? {})) {
    if (name === 'metadata') continue;
    if (isMoneyName(name)) out.push([...prefix, name]);
    out.push(...moneyPaths(child, [...prefix, name], inner));
  }
  return out;
}

function requestSchemaMoneyPaths(operation: Operation): string[][] {
  const content = operation.requestBody?.content ?? {};
  const paths = Object.values(content).flatMap((media) => moneyPaths(media.schema));
  for (const parameter of operation.parameters ?? []) {
    if (parameter.in !== 'query') continue;
    if (isMoneyName(parameter.name)) paths.push([parameter.name]);
    paths.push(...moneyPaths(parameter.schema, [parameter.name]));
  }
  const unique = new Map(paths.map((keys) => [keys.join('\u0000'), keys]));
  return [...unique.values()];
}

const specOperations = new Map<string, Operation>();
for (const [template, methods] of Object.entries(spec.paths)) {
  for (const [method, operation] of Object.entries(methods)) {
    if (method === 'post' || method === 'delete') specOperations.set(`${method.toUpperCase()} ${template}`, operation);
  }
}

const LEDGER_PRICED = [
  'POST /v1/payment_intents',
  'POST /v1/payment_intents/{intent}',
  'POST /v1/payment_intents/{intent}/confirm',
  'POST /v1/payment_intents/{intent}/capture',
  'POST /v1/payment_intents/{intent}/increment_authorization',
  'POST /v1/charges',
  'POST /v1/charges/{charge}/capture',
  'POST /v1/refunds',
  'POST /v1/charges/{charge}/refund',
  'POST /v1/charges/{charge}/refunds',
  'POST /v1/transfers',
  'POST /v1/payouts',
];

const vendor = createStripeVendor({ fx: () => DEFAULT_FX_TABLE });
const cappedKey = { id: 'key_test', rootId: 'key_test' } as VaultKeyRecord;
const noLookups: PricingContext = {
  key: cappedKey,
  chain: [cappedKey],
  store: {} as Store,
  lookup: () => {
    throw new Error('a free operation must not need a lookup');
  },
};

function bracket(keys: readonly string[]): string {
  return keys[0] + keys.slice(1).map((key) => `[${key}]`).join('');
}

/** A request for the operation's template with every `{param}` filled in. */
function requestFor(name: string, body: string, rawQuery = ''): InboundRequest {
  const [method, template] = name.split(' ') as [string, string];
  const rawPath = template.replace(/\{[^}]+\}/g, 'obj_1');
  return { method, rawPath, rawQuery, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: Buffer.from(body) };
}

async function price(request: InboundRequest): Promise<Pricing> {
  const route = vendor.route(request, {});
  if ('code' in route) throw new Error(route.message);
  return vendor.price(request, route, noLookups);
}

/** The test's own reading of a waiver pattern: `[*]` / `[]` is any one key, `*` alone is everything. */
function waiverMatches(pattern: string, keys: readonly string[]): boolean {
  if (pattern === '*') return true;
  const parts = pattern.replace(/\]/g, '').split('[');
  return parts.length === keys.length && parts.every((part, i) => part === '*' || part === '' || part === keys[i]);
}

describe('the Stripe operation table against the spec', () => {
  it('classifies every POST and DELETE operation of the spec, and lists nothing the spec does not have', () => {
    const table = Object.keys(STRIPE_OPERATIONS);
    const missing = [...specOperations.keys()].filter((name) => !(name in STRIPE_OPERATIONS));
    const extra = table.filter((name) => !specOperations.has(name));
    expect(missing, 'operations of the spec missing from operations.ts').toEqual([]);
    expect(extra, 'entries of operations.ts that are not in the spec (non-spec routes belong in NON_SPEC_OPERATIONS)').toEqual([]);
    expect(table.length).toBe(specOperations.size);
    expect(specOperations.size).toBeGreaterThan(200);
  });

  it('lists non-spec routes only with the reason they are not in the spec', () => {
    for (const [name, entry] of Object.entries(NON_SPEC_OPERATIONS)) {
      expect(specOperations.has(name), name).toBe(false);
      expect(entry.notInSpecBecause.length, name).toBeGreaterThan(10);
    }
  });

  it('marks exactly the operations pricing.ts prices as priced by the ledger', () => {
    const ledger = Object.entries(STRIPE_OPERATIONS)
      .filter(([, entry]) => entry.kind === 'ledger')
      .map(([name]) => name);
    expect(ledger.sort()).toEqual([...LEDGER_PRICED].sort());
  });

  it('gives every free and unpriced judgement a reason', () => {
    for (const [name, entry] of Object.entries(STRIPE_OPERATIONS)) {
      if (entry.kind === 'free' || entry.kind === 'unpriced') expect(entry.why.length, name).toBeGreaterThan(5);
      if (entry.kind === 'free') for (const [pattern, reason] of Object.entries(entry.waive)) expect(reason.length, `${name} ${pattern}`).toBeGreaterThan(10);
    }
  });

  it('prints the totals of the classification, and the README states the same', () => {
    const count = (kind: string) => Object.values(STRIPE_OPERATIONS).filter((entry) => entry.kind === kind).length;
    const totals = { ledger: count('ledger'), indirect: count('indirect'), free: count('free'), unpriced: count('unpriced') };
    const priced = totals.ledger + totals.indirect;
    const line = `${specOperations.size} POST/DELETE operations: ${priced} priced (${totals.ledger} by the ledger, ${totals.indirect} indirectly), ${totals.free} free, ${totals.unpriced} unpriced`;
    console.log(`Stripe spec v524 classification — ${line}`);
    expect(priced + totals.free + totals.unpriced).toBe(specOperations.size);
    expect(readFileSync(path.join(repoRoot, 'README.md'), 'utf8').includes(line), `the README states: ${line}`).toBe(true);
  });
});

describe('money parameters of free operations', () => {
  const free = Object.entries(STRIPE_OPERATIONS).filter(([, entry]) => entry.kind === 'free') as [string, Extract<(typeof STRIPE_OPERATIONS)[string], { kind: 'free' }>][];
  const cases = free.flatMap(([name, entry]) => requestSchemaMoneyPaths(specOperations.get(name)!).map((keys) => ({ name, entry, keys })));

  it('finds money parameters in the spec (the derivation itself works)', () => {
    const found = cases.map(({ name, keys }) => `${name} ${bracket(keys)}`);
    expect(found).toContain('POST /v1/customers/{customer} balance');
    expect(found).toContain('POST /v1/prices currency_options[usd][tiers][0][unit_amount_decimal]');
    expect(found).toContain('POST /v1/sources source_order[items][0][amount]');
    expect(cases.length).toBeGreaterThan(50);
  });

  it('refuses each one, in the body and in the query string, unless the table waives it with a reason', async () => {
    const problems: string[] = [];
    for (const { name, entry, keys } of cases) {
      const param = bracket(keys);
      const waived = Object.keys(entry.waive).some((pattern) => waiverMatches(pattern, keys));
      for (const request of [requestFor(name, `${encodeURI(param)}=100`), requestFor(name, '', `${encodeURI(param)}=100`)]) {
        const where = request.rawQuery ? 'query' : 'body';
        const pricing = await price(request);
        if (waived) {
          if (pricing.kind !== 'free') problems.push(`${name} ${param} (${where}) is waived but classified ${pricing.kind}`);
        } else if (pricing.kind !== 'unpriced') {
          problems.push(`${name} ${param} (${where}) is a money parameter, neither refused nor waived: classified ${pricing.kind}`);
        } else {
          if (!pricing.label.includes(`"${param}"`)) problems.push(`${name} ${param}: the refusal does not name the parameter: ${pricing.label}`);
          if (pricing.policyPattern !== name.replace(/\{[^}]+\}/g, '*')) problems.push(`${name} ${param}: policy pattern ${pricing.policyPattern}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('waives nothing the spec does not have (no stale or misspelt waiver)', () => {
    for (const [name, entry] of free) {
      const paths = requestSchemaMoneyPaths(specOperations.get(name)!);
      for (const pattern of Object.keys(entry.waive)) {
        expect(paths.some((keys) => waiverMatches(pattern, keys)), `${name} waives ${pattern}`).toBe(true);
      }
    }
  });

  it('keeps each free operation free without money parameters', async () => {
    for (const [name] of free) {
      const pricing = await price(requestFor(name, 'description=hello&metadata[amount]=5&expand[0]=x'));
      expect(pricing.kind, name).toBe('free');
    }
  });
});

describe('classification of single requests', () => {
  it('reads a nested money parameter in bracket form, at any depth', async () => {
    const pricing = await price(requestFor('POST /v1/customers/{customer}', 'email=a%40b.c&invoice_settings[custom_fields][0][name]=x&balance=-500000'));
    expect(pricing).toMatchObject({ kind: 'unpriced', policyPattern: 'POST /v1/customers/*' });
    const nested = await price(requestFor('POST /v1/sources', 'type=card&source_order[items][0][amount]=500000'));
    expect(nested.kind).toBe('unpriced');
    expect(nested.kind === 'unpriced' && nested.label).toContain('"source_order[items][0][amount]"');
  });

  it('refuses a free operation sent with a trigger parameter that is not named like money', async () => {
    const pricing = await price(requestFor('POST /v1/customers/{customer}', '', 'cash_balance[settings][reconciliation_mode]=automatic'));
    expect(pricing.kind).toBe('unpriced');
    expect(pricing.kind === 'unpriced' && pricing.label).toContain('"cash_balance"');
  });

  it('lists triggers only the spec gives the operation', () => {
    for (const [name, entry] of Object.entries(STRIPE_OPERATIONS)) {
      if (entry.kind !== 'free') continue;
      const [method, template] = name.split(' ') as [string, string];
      const schema = deref(spec.paths[template]![method.toLowerCase()]!.requestBody?.content?.['application/x-www-form-urlencoded']?.schema);
      for (const trigger of Object.keys(entry.triggers)) expect(Object.keys(schema?.properties ?? {}), `${name} trigger ${trigger}`).toContain(trigger);
    }
  });

  it('refuses a parameter named both in the body and in the query string', async () => {
    const pricing = await price(requestFor('POST /v1/customers/{customer}', 'email=a%40b.c', 'email=c%40d.e'));
    expect(pricing.kind).toBe('refused');
    expect(pricing.kind === 'refused' && pricing.refusal).toMatchObject({ code: 'keyleash_ambiguous_request' });
    expect(pricing.kind === 'refused' && pricing.refusal.message).toContain('"email"');
  });

  it('refuses a parameter name other parsers may read as a money parameter', async () => {
    const tricks = ['balance]=-500000', '[balance]=-500000', ']balance=-500000', 'a[b]balance=-500000', 'email=x;balance=-500000', '%20balance=-500000'];
    // a space spelled "+", an encoded bracket, a malformed escape: each decoded (or not) before the check
    tricks.push('+balance=-500000', 'balance%5D=-500000', 'bal%zzance=-500000', 'balance%5=-500000');
    for (const trick of tricks) {
      for (const request of [requestFor('POST /v1/customers/{customer}', trick), requestFor('POST /v1/customers/{customer}', '', trick)]) {
        const pricing = await price(request);
        expect(pricing.kind, trick).toBe('refused');
        expect(pricing.kind === 'refused' && pricing.refusal.code).toBe('keyleash_ambiguous_request');
      }
    }
  });

  it('reads + and %XX in parameter names, and refuses a body that is not UTF-8', async () => {
    expect((await price(requestFor('POST /v1/customers/{customer}', 'metadata%5Border%2Bid%5D=7&description=a+b'))).kind).toBe('free');
    const invalid = await price({ ...requestFor('POST /v1/customers/{customer}', ''), body: Buffer.from([0x65, 0x6d, 0x61, 0x69, 0x6c, 0x3d, 0xc3, 0x28]) });
    expect(invalid.kind === 'refused' && invalid.refusal.message).toContain('not valid UTF-8');
  });

  it('refuses more parameters than are read rather than dropping the rest unseen', async () => {
    const padding = Array.from({ length: 2100 }, (_, i) => `metadata[k${i}]=v`).join('&');
    const pricing = await price(requestFor('POST /v1/customers/{customer}', `${padding}&balance=-500000`));
    expect(pricing.kind).toBe('refused');
  });

  it('classifies DELETE like POST, and an operation it does not know as unpriced', async () => {
    expect((await price(requestFor('DELETE /v1/subscriptions/{subscription_exposed_id}', '', 'invoice_now=true'))).kind).toBe('unpriced');
    expect((await price(requestFor('DELETE /v1/customers/{customer}', ''))).kind).toBe('free');
    const unknown = await price({ method: 'POST', rawPath: '/v2/money_management/outbound_payments', rawQuery: '', headers: {}, body: Buffer.alloc(0) });
    expect(unknown).toMatchObject({ kind: 'unpriced', policyPattern: 'POST /v2/money_management/outbound_payments' });
  });

  it('keeps reads free whatever their query says', async () => {
    expect((await price({ method: 'GET', rawPath: '/v1/customers/cus_1', rawQuery: 'balance=5', headers: {}, body: Buffer.alloc(0) })).kind).toBe('free');
  });
});
