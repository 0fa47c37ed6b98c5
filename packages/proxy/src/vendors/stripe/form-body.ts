import qs from 'qs';
import type { IncomingHttpHeaders } from 'node:http';

export type FormParams = Record<string, unknown>;
export type FormParse = { ok: true; params: FormParams } | { ok: false; reason: string };

/**
 * Parses a v1 request body the way Stripe does (`a[b]=1`, `expand[0]=x`). A duplicate key becomes
 * an array here, so a priced request that says `amount` twice is refused by `scalarParam` rather
 * than guessed (Stripe might read either one).
 */
export function parseStripeForm(headers: IncomingHttpHeaders, body: Buffer): FormParse {
  if (body.length === 0) return { ok: true, params: {} };
  const contentType = (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (contentType !== 'application/x-www-form-urlencoded') {
    return { ok: false, reason: `the body is ${contentType || 'of no declared type'}, but this Stripe endpoint takes application/x-www-form-urlencoded` };
  }
  const text = body.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(body)) return { ok: false, reason: 'the form body is not valid UTF-8' };
  const params = qs.parse(text, { depth: 20, parameterLimit: 2000, arrayLimit: 1000, allowPrototypes: false, strictDepth: true });
  return { ok: true, params: params as FormParams };
}

export type Scalar = { ok: true; value: string | undefined } | { ok: false; reason: string };

/** A top-level parameter that must be a single string: not repeated, not nested, not an array. */
export function scalarParam(params: FormParams, name: string): Scalar {
  const value = params[name];
  if (value === undefined) return { ok: true, value: undefined };
  if (typeof value !== 'string') {
    return { ok: false, reason: `parameter "${name}" is given more than once or as a nested value; send it exactly once as a plain value` };
  }
  return { ok: true, value };
}

/** A positive integer amount in the currency's minor unit, written the only way Stripe reads unambiguously. */
export function integerParam(params: FormParams, name: string): { ok: true; value: number | undefined } | { ok: false; reason: string } {
  const scalar = scalarParam(params, name);
  if (!scalar.ok) return scalar;
  if (scalar.value === undefined) return { ok: true, value: undefined };
  if (!/^(0|[1-9][0-9]{0,15})$/.test(scalar.value)) {
    return { ok: false, reason: `parameter "${name}" must be a whole number of the currency's smallest unit, got "${scalar.value.slice(0, 40)}"` };
  }
  const value = Number(scalar.value);
  if (!Number.isSafeInteger(value)) return { ok: false, reason: `parameter "${name}" is too large` };
  return { ok: true, value };
}
