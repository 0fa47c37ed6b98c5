/**
 * Index over Stripe's OpenAPI spec (v524, API 2023-08-16) and its fixtures.
 *
 * The spec is 5 MB, so it is read and indexed once per process (module-level cache) and shared by
 * every fake server a test suite starts. Only what the fake needs is kept: per operation, the
 * request schema (form body or query parameters) and what kind of object the 200 response is.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The subset of JSON Schema that Stripe's request schemas use. */
export interface Schema {
  type?: string;
  format?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  anyOf?: Schema[];
  enum?: unknown[];
  $ref?: string;
}

interface Parameter {
  in: string;
  name: string;
  required?: boolean;
  schema?: Schema;
}

interface MediaType {
  schema?: Schema;
}

interface Operation {
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, MediaType> };
  responses?: Record<string, { content?: Record<string, MediaType> }>;
}

interface OpenApiDoc {
  info: { version: string };
  paths: Record<string, Record<string, Operation>>;
}

/** What a successful response looks like, derived from the operation's 200 schema. */
export type ResponseShape =
  | { kind: 'object'; resource: string }
  | { kind: 'list'; resource: string; object: 'list' | 'search_result' }
  | { kind: 'binary'; contentType: string };

export interface Route {
  method: string;
  /** e.g. /v1/payment_intents/{intent}/confirm */
  template: string;
  /** template split on '/', without the leading empty segment */
  segments: string[];
  /** schema of the form (or multipart) body; undefined when the operation takes no body */
  bodySchema: Schema | undefined;
  /** the query parameters folded into one closed object schema */
  querySchema: Schema;
  response: ResponseShape;
}

export interface RouteMatch {
  route: Route;
  /** path parameters by name, URL-decoded */
  params: Record<string, string>;
}

export type Fixture = Record<string, unknown>;

export interface SpecIndex {
  /** API version the spec describes, e.g. 2023-08-16 */
  version: string;
  fixtures: Record<string, Fixture>;
  /** undefined when no operation has this method and path */
  match(method: string, pathname: string): RouteMatch | undefined;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../../..');

export function specDir(): string {
  return process.env.KEYLEASH_STRIPE_SPEC_DIR ?? path.resolve(repoRoot, 'upstream-specs/stripe-openapi');
}

const cache = new Map<string, Promise<SpecIndex>>();

/** Loads and indexes the spec in `dir` once; later calls share the same promise. */
export function loadSpec(dir: string = specDir()): Promise<SpecIndex> {
  let loaded = cache.get(dir);
  if (!loaded) {
    loaded = buildIndex(dir);
    // A failed load (e.g. a wrong KEYLEASH_STRIPE_SPEC_DIR) must not poison later attempts.
    loaded.catch(() => cache.delete(dir));
    cache.set(dir, loaded);
  }
  return loaded;
}

async function buildIndex(dir: string): Promise<SpecIndex> {
  const [specText, fixturesText] = await Promise.all([
    readFile(path.join(dir, 'spec3.v524.json'), 'utf8'),
    // v524 fixtures match the v524 spec (same commit); the "latest" fixtures describe a newer API.
    readFile(path.join(dir, 'fixtures3.v524.json'), 'utf8'),
  ]);
  const doc = JSON.parse(specText) as OpenApiDoc;
  const fixtures = (JSON.parse(fixturesText) as { resources: Record<string, Fixture> }).resources;

  // Routes bucketed by "METHOD segmentCount" so a lookup only scans a handful of templates.
  const buckets = new Map<string, Route[]>();
  for (const [template, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      if (!['get', 'post', 'delete'].includes(method)) continue;
      const route = toRoute(method.toUpperCase(), template, op);
      const key = `${route.method} ${route.segments.length}`;
      const list = buckets.get(key) ?? [];
      list.push(route);
      buckets.set(key, list);
    }
  }
  // Literal segments beat templated ones, so /v1/customers/search wins over /v1/customers/{customer}.
  const literals = (r: Route) => r.segments.filter((s) => !isParam(s)).length;
  for (const list of buckets.values()) list.sort((a, b) => literals(b) - literals(a));

  return {
    version: doc.info.version,
    fixtures,
    match(method, pathname) {
      const parts = pathname.split('/').slice(1);
      for (const route of buckets.get(`${method} ${parts.length}`) ?? []) {
        const params = matchSegments(route.segments, parts);
        if (params) return { route, params };
      }
      return undefined;
    },
  };
}

export function isParam(segment: string): boolean {
  return segment.startsWith('{') && segment.endsWith('}');
}

function matchSegments(template: string[], parts: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < template.length; i++) {
    const t = template[i] as string;
    const p = parts[i] as string;
    if (isParam(t)) {
      if (p === '') return undefined;
      params[t.slice(1, -1)] = safeDecode(p);
    } else if (t !== p) {
      return undefined;
    }
  }
  return params;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function toRoute(method: string, template: string, op: Operation): Route {
  const content = op.requestBody?.content ?? {};
  const bodySchema = (content['application/x-www-form-urlencoded'] ?? content['multipart/form-data'])?.schema;

  const query: Record<string, Schema> = {};
  const required: string[] = [];
  for (const p of op.parameters ?? []) {
    if (p.in !== 'query') continue;
    query[p.name] = p.schema ?? {};
    if (p.required) required.push(p.name);
  }
  const querySchema: Schema = { type: 'object', properties: query, required, additionalProperties: false };

  return { method, template, segments: template.split('/').slice(1), bodySchema, querySchema, response: responseShape(op) };
}

function responseShape(op: Operation): ResponseShape {
  const content = op.responses?.['200']?.content ?? {};
  const json = content['application/json']?.schema;
  if (!json) {
    // Only GET /v1/quotes/{quote}/pdf (application/pdf) in this spec.
    return { kind: 'binary', contentType: Object.keys(content)[0] ?? 'application/octet-stream' };
  }
  const ref = firstRef(json);
  if (ref) return { kind: 'object', resource: ref };
  const object = json.properties?.object?.enum?.[0];
  const items = json.properties?.data?.items;
  if ((object === 'list' || object === 'search_result') && items) {
    return { kind: 'list', resource: firstRef(items) ?? '', object };
  }
  return { kind: 'object', resource: '' };
}

/** `#/components/schemas/payment_intent` → `payment_intent`; for anyOf, the first alternative. */
function firstRef(schema: Schema): string | undefined {
  if (schema.$ref) return schema.$ref.split('/').pop();
  for (const alt of schema.anyOf ?? []) {
    const ref = firstRef(alt);
    if (ref) return ref;
  }
  return undefined;
}
