import type { IncomingHttpHeaders } from 'node:http';
import { charsetProblem } from '../form-charset.ts';

/**
 * A Twilio form body: flat PascalCase names, a list parameter repeated (`MediaUrl=a&MediaUrl=b`,
 * as twilio-node writes it). Every name maps to all its values, in order.
 */
export type TwilioParams = ReadonlyMap<string, readonly string[]>;
export type TwilioForm = { ok: true; params: TwilioParams } | { ok: false; reason: string };

export function parseTwilioForm(headers: IncomingHttpHeaders, body: Buffer): TwilioForm {
  const params = new Map<string, string[]>();
  if (body.length === 0) return { ok: true, params };
  const [type = '', ...parameters] = (headers['content-type'] ?? '').split(';');
  const contentType = type.trim().toLowerCase();
  if (contentType !== 'application/x-www-form-urlencoded') {
    return { ok: false, reason: `the body is ${contentType || 'of no declared type'}, but this Twilio endpoint takes application/x-www-form-urlencoded` };
  }
  const charset = charsetProblem(parameters);
  if (charset !== undefined) return { ok: false, reason: charset };
  const text = body.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(body)) return { ok: false, reason: 'the form body is not valid UTF-8' };
  // some form parsers still split on ";" as well as "&" (twilio-node always writes %3B)
  if (text.includes(';')) return { ok: false, reason: 'the form body contains a literal ";", which some servers read as a parameter separator; percent-encode it as %3B' };
  for (const [name, value] of new URLSearchParams(text)) {
    const values = params.get(name);
    if (values) values.push(value);
    else params.set(name, [value]);
  }
  return { ok: true, params };
}

export type Single = { ok: true; value: string | undefined } | { ok: false; reason: string };

/**
 * A parameter that must appear at most once. Twilio reads a repeated `To`, `Body` or `From` one way
 * or another; keyleash would have to guess which, so a repeat is refused, not priced.
 */
export function single(params: TwilioParams, name: string): Single {
  const values = params.get(name);
  if (values === undefined) return { ok: true, value: undefined };
  if (values.length > 1) return { ok: false, reason: `parameter "${name}" is given ${values.length} times; send it exactly once` };
  return { ok: true, value: values[0] };
}
