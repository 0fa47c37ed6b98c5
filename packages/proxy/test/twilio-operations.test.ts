/**
 * The Twilio operations table against Twilio's own OpenAPI specs (the two the tests serve with
 * Prism): every POST and DELETE in them has exactly one row, every row of those hosts is in them,
 * each spec path reaches its own row through the proxy's pricing, and a free operation whose
 * schema takes a parameter that can make it cost (derived from the spec: names ending in Url,
 * Twiml, Price, ApplicationSid or TrunkSid, plus the row's own list) is not free with it.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TWILIO_PRICE_TABLE, TWILIO_PLACEHOLDER_ACCOUNT_SID, type Store } from '@keyleash/core';
import { createTwilioVendor } from '../src/vendors/twilio/index.ts';
import { TWILIO_OPERATIONS, TWILIO_SPEC_HOSTS, type TwilioOperation } from '../src/vendors/twilio/operations.ts';
import type { InboundRequest, Pricing } from '../src/vendors/vendor.ts';
import { rootKeyRecord } from './root-key-record.ts';

const SPEC_DIR = resolve(import.meta.dirname, '../../../upstream-specs/twilio-oai/json');
const SPECS = ['twilio_api_v2010.json', 'twilio_verify_v2.json'];
/** what the spec says can make an operation cost, by parameter name */
const COST_SUFFIXES = ['Url', 'Twiml', 'Price', 'ApplicationSid', 'TrunkSid'];

interface SpecOperation {
  operationId: string;
  method: 'POST' | 'DELETE';
  host: string;
  path: string;
  params: string[];
}

function specOperations(): SpecOperation[] {
  const out: SpecOperation[] = [];
  for (const file of SPECS) {
    const spec = JSON.parse(readFileSync(resolve(SPEC_DIR, file), 'utf8'));
    for (const [path, item] of Object.entries<any>(spec.paths)) {
      const host = new URL(item.servers?.[0]?.url ?? spec.servers[0].url).host;
      for (const method of ['post', 'delete'] as const) {
        const operation = item[method];
        if (!operation) continue;
        const schema = operation.requestBody?.content?.['application/x-www-form-urlencoded']?.schema;
        out.push({ operationId: operation.operationId, method: method.toUpperCase() as 'POST' | 'DELETE', host, path, params: Object.keys(schema?.properties ?? {}) });
      }
    }
  }
  return out;
}

const spec = specOperations();
const identity = (op: { method: string; host: string; path: string }) => `${op.method} ${op.host}${op.path}`;
const specRows = TWILIO_OPERATIONS.filter((op) => (TWILIO_SPEC_HOSTS as readonly string[]).includes(op.host));

const vendor = createTwilioVendor({ prices: () => DEFAULT_TWILIO_PRICE_TABLE });
const secrets = { TWILIO_ACCOUNT_SID: `AC${'5'.repeat(32)}`, TWILIO_AUTH_TOKEN: 'token-0123456789' };
const key = rootKeyRecord({ vendor: 'twilio', dailyCapMicros: 10_000_000 });

/** a concrete path for a spec template: the placeholder account, and a value no literal segment has */
function concrete(op: { host: string; path: string }): string {
  return `/${op.host}${op.path.replace(/\{AccountSid\}/g, TWILIO_PLACEHOLDER_ACCOUNT_SID).replace(/\{([A-Za-z]+)\}/g, (_, name: string) => `${name}0x`)}`;
}

/** the smallest body each pricer prices */
const PRICED_BODY: Record<string, string> = {
  CreateMessage: 'To=%2B14155550100&From=%2B14155550199&Body=hi',
  CreateCall: 'To=%2B14155550100&From=%2B14155550199&Url=https%3A%2F%2Fexample.com%2Ftwiml&TimeLimit=60',
  CreateVerification: 'To=%2B14155550100&Channel=sms',
};

async function priceOf(op: { method: string; host: string; path: string }, body = '', rawQuery = ''): Promise<Pricing> {
  const inbound: InboundRequest = { method: op.method, rawPath: concrete(op), rawQuery, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: Buffer.from(body) };
  const route = vendor.route(inbound, secrets);
  if ('code' in route) throw new Error(`${identity(op)} does not route: ${route.message}`);
  return vendor.price(inbound, route, { key, chain: [key], store: {} as Store, lookup: () => Promise.reject(new Error('no lookups')) });
}

function rowOf(op: SpecOperation): TwilioOperation {
  return specRows.find((row) => identity(row) === identity(op))!;
}

describe('the Twilio operations table, walked against Twilio’s OpenAPI specs', () => {
  it('has a row for every POST and DELETE in the specs, and no row of those hosts that the specs lack', () => {
    const inSpec = new Set(spec.map(identity));
    const inTable = new Set(specRows.map(identity));
    expect(spec.length).toBeGreaterThan(100);
    expect(spec.filter((op) => !inTable.has(identity(op))).map((op) => `${identity(op)} (${op.operationId})`)).toEqual([]);
    expect(specRows.filter((op) => !inSpec.has(identity(op))).map(identity)).toEqual([]);
    expect(inTable.size).toBe(specRows.length);
    for (const op of spec) expect(rowOf(op).operationId, identity(op)).toBe(op.operationId);
  });

  it('routes every spec path to its own row: priced, free, unpriced or refused as the row says', async () => {
    for (const op of spec) {
      const row = rowOf(op);
      const pricing = await priceOf(op, PRICED_BODY[op.operationId] ?? '');
      const expected = row.cost.kind === 'credential' ? 'refused' : row.cost.kind;
      expect(pricing.kind, `${identity(op)} -> ${JSON.stringify(pricing)}`).toBe(expected);
      if (pricing.kind === 'refused') {
        expect(pricing.refusal.code).toBe('keyleash_endpoint_not_allowed');
        expect(pricing.refusal.message).toContain(row.why);
      }
      if (pricing.kind === 'unpriced') expect(pricing.label).toContain(row.why);
    }
  });

  it('makes a free operation unpriced with any parameter that can make it cost (from the spec), in the body or the query string', async () => {
    const costlyBySuffix = (name: string) => COST_SUFFIXES.some((suffix) => name.toLowerCase().endsWith(suffix.toLowerCase()));
    const checked: string[] = [];
    for (const op of spec) {
      const row = rowOf(op);
      if (row.cost.kind !== 'free' || op.method !== 'POST') continue;
      const harmless = row.cost.harmlessParams ?? [];
      const costly = row.cost.costlyParams ?? [];
      // the row's own lists name real parameters of the operation
      for (const name of [...harmless, ...costly]) expect(op.params, `${op.operationId}: ${name}`).toContain(name);
      for (const name of harmless) expect(costlyBySuffix(name), `${op.operationId}: ${name} is harmless but matches no costly suffix`).toBe(true);
      for (const name of op.params.filter((param) => (costlyBySuffix(param) && !harmless.includes(param)) || costly.includes(param))) {
        for (const [body, query] of [[`${name}=https%3A%2F%2Fattacker.example%2Ftwiml`, ''], ['', `${name}=1`]] as const) {
          const pricing = await priceOf(op, body, query);
          expect(pricing.kind, `${op.operationId} with ${name}`).toBe('unpriced');
          if (pricing.kind === 'unpriced') expect(pricing.label).toContain(`with ${name}`);
        }
        checked.push(`${op.operationId}.${name}`);
      }
      for (const name of harmless) expect((await priceOf(op, `${name}=https%3A%2F%2Fhooks.example%2Fx`)).kind, `${op.operationId} with ${name}`).toBe('free');
    }
    expect(checked).toEqual(expect.arrayContaining(['UpdateCall.Url', 'UpdateCall.Twiml', 'UpdateCall.Method', 'UpdateCall.TimeLimit', 'UpdateIncomingPhoneNumber.VoiceUrl', 'UpdateIncomingPhoneNumber.VoiceApplicationSid', 'UpdateIncomingPhoneNumber.TrunkSid']));
  });

  it('prints the classification totals and the priced operations (for the README)', () => {
    const kinds = (rows: readonly TwilioOperation[]) => ({
      priced: rows.filter((r) => r.cost.kind === 'priced').length,
      free: rows.filter((r) => r.cost.kind === 'free').length,
      unpriced: rows.filter((r) => r.cost.kind === 'unpriced').length,
      credential: rows.filter((r) => r.cost.kind === 'credential').length,
      total: rows.length,
    });
    const specTotals = kinds(specRows);
    console.log(`Twilio operations in the specs (api v2010 + verify v2): ${JSON.stringify(specTotals)}`);
    console.log(`every row, with the hand-kept hosts: ${JSON.stringify(kinds(TWILIO_OPERATIONS))}`);
    console.log(`priced: ${TWILIO_OPERATIONS.filter((r) => r.cost.kind === 'priced').map((r) => `${r.operationId} (${r.method} ${r.host}${r.path})`).join('; ')}`);
    expect(specTotals.priced + specTotals.free + specTotals.unpriced + specTotals.credential).toBe(spec.length);
    expect(specTotals.priced).toBe(3);
  });
});
