/**
 * Checks parsed parameters against an operation's request schema and converts the string leaves of a
 * form into the types the spec declares (integer, number, boolean), the way Stripe's API does.
 *
 * What is checked, at every depth: unknown parameters in objects that list their properties
 * (Stripe rejects `shipping[foo]` just like a top-level `foo`), missing required parameters, integers,
 * decimals, booleans, string enums. Not checked: maxLength, patterns, formats, cross-field rules.
 */
import type { Schema } from './spec.ts';

export interface ParamError {
  code?: string;
  message: string;
  param: string;
}

type Result = { ok: true; value: unknown } | { ok: false; error: ParamError; weak: boolean };

/**
 * Validates `params` (top-level form or query object) against `schema`.
 * An operation without a request schema accepts no parameters at all.
 */
export function validateParams(
  params: Record<string, unknown>,
  schema: Schema | undefined,
): { ok: true; value: Record<string, unknown> } | { ok: false; error: ParamError } {
  const result = coerce(params, schema ?? { type: 'object', properties: {}, additionalProperties: false }, '');
  if (!result.ok) return { ok: false, error: result.error };
  return { ok: true, value: result.value as Record<string, unknown> };
}

const ok = (value: unknown): Result => ({ ok: true, value });
/** A "weak" error means the value had the wrong shape for this alternative (string vs object); in an
 * anyOf another alternative's more specific complaint is the better message. */
const fail = (param: string, message: string, code?: string, weak = false): Result => ({
  ok: false,
  error: code ? { code, message, param } : { message, param },
  weak,
});

const child = (param: string, key: string | number) => (param === '' ? String(key) : `${param}[${key}]`);
const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

function coerce(value: unknown, schema: Schema, param: string): Result {
  if (schema.anyOf) {
    let weak: Result | undefined;
    for (const alt of schema.anyOf) {
      const r = coerce(value, alt, param);
      if (r.ok || !r.weak) return r;
      weak ??= r;
    }
    return weak ?? ok(value);
  }

  const type = schema.type ?? (schema.properties ? 'object' : undefined);
  switch (type) {
    case 'integer':
      if (typeof value === 'number' && Number.isInteger(value)) return ok(value);
      if (typeof value === 'string' && /^-?\d+$/.test(value)) return ok(Number(value));
      return fail(param, `Invalid integer: ${show(value)}`, 'parameter_invalid_integer', typeof value !== 'string');
    case 'number':
      if (typeof value === 'number') return ok(value);
      if (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value)) return ok(Number(value));
      return fail(param, `Invalid decimal: ${show(value)}`, undefined, typeof value !== 'string');
    case 'boolean':
      if (typeof value === 'boolean') return ok(value);
      if (value === 'true' || value === 'false') return ok(value === 'true');
      return fail(param, `Invalid boolean: ${show(value)}`, undefined, typeof value !== 'string');
    case 'string':
      if (typeof value !== 'string') {
        // Multipart file parts arrive as objects; the spec calls them `format: binary` strings.
        if (schema.format === 'binary') return ok(value);
        return fail(param, `Invalid string: ${show(value)}`, undefined, true);
      }
      if (schema.enum && !schema.enum.includes(value)) {
        // `anyOf: [..., {enum: ['']}]` is how the spec marks "send '' to unset"; that is a shape
        // mismatch rather than a real complaint when the other alternative fails too.
        const allowed = schema.enum.map(String);
        return fail(param, `Invalid ${param}: must be one of ${allowed.join(', ')}`, undefined, allowed.every((e) => e === ''));
      }
      return ok(value);
    case 'array':
      return coerceArray(value, schema, param);
    case 'object':
      return coerceObject(value, schema, param);
    default:
      return ok(value);
  }
}

function coerceArray(value: unknown, schema: Schema, param: string): Result {
  if (!Array.isArray(value)) return fail(param, `Invalid array`, undefined, true);
  const out: unknown[] = [];
  for (const [i, item] of value.entries()) {
    const r = schema.items ? coerce(item, schema.items, child(param, i)) : ok(item);
    if (!r.ok) return { ...r, weak: false };
    out.push(r.value);
  }
  return ok(out);
}

function coerceObject(value: unknown, schema: Schema, param: string): Result {
  // Stripe lets an empty string unset a whole hash (e.g. `metadata=`).
  if (value === '' && param !== '') return ok('');
  // `metadata[0]=a` was turned into an array by the parser; the schema says it is a hash.
  if (Array.isArray(value)) value = Object.fromEntries(value.map((v, i) => [String(i), v]));
  if (typeof value !== 'object' || value === null) return fail(param, `Invalid object`, undefined, true);

  const input = value as Record<string, unknown>;
  const props = schema.properties ?? {};
  const extra = typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined;
  // An object with listed properties is closed unless it says otherwise; a bare `type: object` is open.
  const closed = schema.properties !== undefined && schema.additionalProperties !== true && !extra;

  for (const key of Object.keys(input)) {
    if (!Object.hasOwn(props, key) && closed) {
      return fail(child(param, key), `Received unknown parameter: ${child(param, key)}`, 'parameter_unknown');
    }
  }
  for (const key of schema.required ?? []) {
    if (!Object.hasOwn(input, key)) {
      return fail(child(param, key), `Missing required param: ${child(param, key)}.`, 'parameter_missing');
    }
  }
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(input)) {
    const s = Object.hasOwn(props, key) ? props[key] : extra;
    const r = s ? coerce(v, s, child(param, key)) : ok(v);
    if (!r.ok) return { ...r, weak: false };
    out[key] = r.value;
  }
  return ok(out);
}
