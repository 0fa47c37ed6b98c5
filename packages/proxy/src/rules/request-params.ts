/**
 * The parameters of a request as parameter rules see them: names in Stripe's bracket form
 * (`transfer_data[destination]`), read from the query string and from a form or JSON body. The
 * reader is strict where vendors may read a request differently than keyleash would: a parameter
 * in both the query and the body, given twice, nested where a string is expected, an oversized or
 * oddly named form, an encoded body; each of these is "unreadable", which a rule counts as broken.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { paramPath, type ParamReader, type ParamReading } from '@keyleash/core';
import qs from 'qs';

const PARAMETER_LIMIT = 2000;
/** `name`, `name[a]`, `name[a][0]`: the only names whose meaning every form parser agrees on */
const CANONICAL_FORM_NAME = /^[^[\]]+(\[[^[\]]*\])*$/;

type Source = { ok: true; where: string; params: Record<string, unknown> } | { ok: false; reason: string };

function parseForm(text: string, where: string): Source {
  const names = new URLSearchParams(text);
  let count = 0;
  for (const name of names.keys()) {
    if (++count > PARAMETER_LIMIT) return { ok: false, reason: `the ${where} has more than ${PARAMETER_LIMIT} parameters` };
    if (!CANONICAL_FORM_NAME.test(name)) return { ok: false, reason: `the ${where} has a parameter name with unbalanced brackets ("${name.slice(0, 60)}")` };
  }
  try {
    const params = qs.parse(text, { depth: 20, strictDepth: true, parameterLimit: PARAMETER_LIMIT, throwOnLimitExceeded: true, arrayLimit: 1000, allowPrototypes: false });
    return { ok: true, where, params: params as Record<string, unknown> };
  } catch (error) {
    return { ok: false, reason: `the ${where} cannot be parsed (${(error as Error).message})` };
  }
}

function parseBody(headers: IncomingHttpHeaders, body: Buffer): Source | undefined {
  if (body.length === 0) return undefined;
  const encoding = String(headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity') return { ok: false, reason: `the body is ${encoding}-encoded` };
  const text = body.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(body)) return { ok: false, reason: 'the body is not valid UTF-8' };
  const contentType = (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (contentType === 'application/x-www-form-urlencoded') return parseForm(text, 'body');
  if (contentType === 'application/json' || contentType.endsWith('+json')) {
    try {
      const json: unknown = JSON.parse(text);
      if (json === null || typeof json !== 'object' || Array.isArray(json)) return { ok: false, reason: 'the JSON body is not an object' };
      return { ok: true, where: 'body', params: json as Record<string, unknown> };
    } catch {
      return { ok: false, reason: 'the JSON body cannot be parsed' };
    }
  }
  return { ok: false, reason: `the body is ${contentType || 'of no declared type'}, which parameter rules cannot read` };
}

function lookup(params: Record<string, unknown>, path: readonly string[]): unknown {
  let node: unknown = params;
  for (const segment of path) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, segment)) return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  return node;
}

function reading(name: string, value: unknown): ParamReading {
  if (value === undefined || value === null) return { kind: 'absent' };
  if (typeof value === 'string') return { kind: 'value', value };
  if (typeof value === 'number' || typeof value === 'boolean') return { kind: 'value', value: String(value) };
  return { kind: 'unreadable', reason: `it is given more than once or as a nested value; send "${name}" exactly once as a plain value` };
}

/** A reader over the request's query string and body, parsed once on first use. */
export function requestParamReader(request: { headers: IncomingHttpHeaders; rawQuery: string; body: Buffer }): ParamReader {
  let sources: Source[] | undefined;
  return (name) => {
    sources ??= [...(request.rawQuery ? [parseForm(request.rawQuery, 'query string')] : []), ...[parseBody(request.headers, request.body)].filter((s) => s !== undefined)];
    const path = paramPath(name);
    const found: { where: string; value: unknown }[] = [];
    for (const source of sources) {
      if (!source.ok) return { kind: 'unreadable', reason: source.reason };
      const value = lookup(source.params, path);
      if (value !== undefined) found.push({ where: source.where, value });
    }
    if (found.length > 1) return { kind: 'unreadable', reason: `it is given in both the query string and the body` };
    return reading(name, found[0]?.value);
  };
}
