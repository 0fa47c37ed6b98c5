import { isUtf8 } from 'node:buffer';
import qs from 'qs';
import { charsetProblem } from '../form-charset.ts';
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
  const [type = '', ...parameters] = (headers['content-type'] ?? '').split(';');
  const contentType = type.trim().toLowerCase();
  if (contentType === 'multipart/form-data') {
    return { ok: false, reason: 'the body is multipart/form-data, which Stripe takes only for file uploads (POST /v1/files on files.stripe.com); send this endpoint\'s parameters as application/x-www-form-urlencoded' };
  }
  if (contentType !== 'application/x-www-form-urlencoded') {
    return { ok: false, reason: `the body is ${contentType || 'of no declared type'}, but this Stripe endpoint takes application/x-www-form-urlencoded` };
  }
  const charset = charsetProblem(parameters);
  if (charset !== undefined) return { ok: false, reason: charset };
  if (!isUtf8(body)) return { ok: false, reason: 'the form body is not valid UTF-8' };
  return parseForm(body.toString('utf8'));
}

// Past a limit qs would silently drop or reshape parameters (a 2,001st `amount` unseen); it throws instead.
const QS_OPTIONS = { depth: 20, parameterLimit: 2000, arrayLimit: 1000, allowPrototypes: false, strictDepth: true, throwOnLimitExceeded: true } as const;

/**
 * `name`, `name[key]`, `name[]`, `name[a][0][b]`: the only spellings every parser reads alike.
 * Anything else (`balance]`, `[balance]`, `a[b]c`, ` balance`) is read differently by different
 * parsers (Rack reads `balance]` as `balance`, qs as another name), so it is refused, not guessed.
 */
const CANONICAL_KEY = /^[^[\]\s\x00-\x1f\x7f]+(\[[^[\]]*\])*$/;

function nonCanonicalKey(text: string): string | undefined {
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const end = pair.indexOf('=');
    const rawKey = (end === -1 ? pair : pair.slice(0, end)).replaceAll('+', ' ');
    let key = rawKey;
    // without a "%" there is nothing to decode (decoding was 3/4 of this check's time)
    if (rawKey.includes('%')) {
      try {
        key = decodeURIComponent(rawKey);
      } catch {
        return rawKey;
      }
    }
    if (!CANONICAL_KEY.test(key)) return key;
  }
  return undefined;
}

function parseForm(text: string): FormParse {
  // some parsers (Rack 2) also split on ";": `email=x;balance=-1` would be two parameters there, one here
  if (text.includes(';')) return { ok: false, reason: 'the parameters contain an unencoded ";"; encode it as %3B' };
  const odd = nonCanonicalKey(text);
  if (odd !== undefined) {
    return { ok: false, reason: `parameter name ${JSON.stringify(odd.slice(0, 60))} is not of the form name or name[key][…]; Stripe's parser may read it as another parameter` };
  }
  try {
    return { ok: true, params: qs.parse(text, QS_OPTIONS) as FormParams };
  } catch (error) {
    // too deep, too many parameters, an array index too large: refused rather than guessed
    return { ok: false, reason: `the parameters could not be read (${(error as Error).message})` };
  }
}

/**
 * The parameters of a POST or DELETE as Stripe reads them: the form body and the query string
 * merged. A parameter named in both places is refused: which one Stripe keeps is not ours to guess.
 */
export function parseRequestParams(headers: IncomingHttpHeaders, body: Buffer, rawQuery: string): FormParse {
  const fromBody = parseStripeForm(headers, body);
  if (!fromBody.ok) return fromBody;
  if (rawQuery === '') return fromBody;
  const fromQuery = parseForm(rawQuery);
  if (!fromQuery.ok) return fromQuery;
  const both = Object.keys(fromQuery.params).filter((name) => Object.hasOwn(fromBody.params, name));
  if (both.length > 0) {
    return { ok: false, reason: `parameter "${both[0]}" is given both in the query string and in the body; send it once, in the body` };
  }
  return { ok: true, params: { ...fromBody.params, ...fromQuery.params } };
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

export type IntegerParam = { ok: true; value: number | undefined } | { ok: false; reason: string };

/** A positive integer amount in the currency's minor unit, written the only way Stripe reads unambiguously. */
export function integerParam(params: FormParams, name: string): IntegerParam {
  return wholeNumberParam(params, name, /^(0|[1-9][0-9]{0,15})$/);
}

/** The same, but may be negative (a customer balance transaction: negative is a credit). */
export function signedIntegerParam(params: FormParams, name: string): IntegerParam {
  return wholeNumberParam(params, name, /^(0|-?[1-9][0-9]{0,15})$/);
}

function wholeNumberParam(params: FormParams, name: string, spelling: RegExp): IntegerParam {
  const scalar = scalarParam(params, name);
  if (!scalar.ok) return scalar;
  if (scalar.value === undefined) return { ok: true, value: undefined };
  if (!spelling.test(scalar.value)) {
    return { ok: false, reason: `parameter "${name}" must be a whole number of the currency's smallest unit, got "${scalar.value.slice(0, 40)}"` };
  }
  const value = Number(scalar.value);
  if (!Number.isSafeInteger(value)) return { ok: false, reason: `parameter "${name}" is too large` };
  return { ok: true, value };
}
