/**
 * Endpoint allowlist patterns ("POST /v1/payment_intents", "GET /v1/customers/*", "* /v1/**"),
 * matching against normalised requests, and containment between patterns (for child keys, whose
 * endpoints must be a subset of their parent's).
 */
import { normaliseRequestPath } from './request-path.ts';

export interface EndpointPattern {
  /** Uppercase HTTP method, or "*" for any method. */
  readonly method: string;
  /** Literal segments (in normalised form), "*" (exactly one segment) or a final "**" (one or more). */
  readonly segments: readonly string[];
  /** The pattern as written (trimmed), for messages. */
  readonly source: string;
}

export type PatternParse = { ok: true; pattern: EndpointPattern } | { ok: false; reason: string };

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] as const;
const ANY_METHOD = '*';
const ONE = '*';
const REST = '**';

export function parseEndpointPattern(text: string): PatternParse {
  const source = text.trim();
  const refuse = (why: string): PatternParse => ({ ok: false, reason: `the endpoint pattern ${JSON.stringify(source)} ${why}` });

  const parts = /^(\S+)\s+(\S+)$/.exec(source);
  if (!parts) return refuse('is not of the form "METHOD /path" (e.g. "GET /v1/customers/*")');
  const [, rawMethod = '', path = ''] = parts;

  const method = rawMethod.toUpperCase();
  if (method !== ANY_METHOD && !(METHODS as readonly string[]).includes(method)) {
    return refuse(`has an unknown method "${rawMethod}"; use one of ${METHODS.join(', ')} or * (any method)`);
  }

  // The literal parts must obey exactly the rules a request path is held to; "*" is a legal path
  // character, so the wildcards pass through and are checked below.
  const normalised = normaliseRequestPath(path);
  if (!normalised.ok) return refuse(`has an invalid path: ${normalised.reason}`);
  // Requiring the canonical spelling keeps patterns unambiguous to the humans who read them.
  if (normalised.path !== path) return refuse(`is not in normalised form; write the path as "${normalised.path}"`);

  const { segments } = normalised;
  for (const [index, segment] of segments.entries()) {
    if (segment.includes('*') && segment !== ONE && segment !== REST) {
      return refuse(`has a partial wildcard in segment "${segment}"; a segment is a literal, "*" (one whole segment) or "**" (the rest of the path)`);
    }
    if (segment === REST && index !== segments.length - 1) {
      return refuse('uses "**" before the last segment; "**" may only end a pattern');
    }
  }
  return { ok: true, pattern: Object.freeze({ method, segments: Object.freeze(segments), source }) };
}

/**
 * Whether a request matches. `segments` must come from normaliseRequestPath. The method is compared
 * exactly: HTTP methods are case-sensitive, and Node already delivers standard ones in uppercase.
 */
export function endpointMatches(pattern: EndpointPattern, method: string, segments: readonly string[]): boolean {
  if (pattern.method !== ANY_METHOD && pattern.method !== method) return false;
  const pat = pattern.segments;
  for (const [i, p] of pat.entries()) {
    if (p === REST) return segments.length > i;
    if (i >= segments.length) return false;
    if (p !== ONE && p !== segments[i]) return false;
  }
  return segments.length === pat.length;
}

export function anyPatternMatches(patterns: readonly EndpointPattern[], method: string, segments: readonly string[]): boolean {
  return patterns.some((pattern) => endpointMatches(pattern, method, segments));
}

/** true iff every request `inner` matches is also matched by `outer` (pattern containment, not string equality). */
export function patternCovers(outer: EndpointPattern, inner: EndpointPattern): boolean {
  if (outer.method !== ANY_METHOD && outer.method !== inner.method) return false;
  const o = outer.segments;
  const n = inner.segments;
  for (const [i, os] of o.entries()) {
    // "**" takes whatever inner has from here on, provided inner requires at least one segment.
    if (os === REST) return n.length > i;
    const ns = n[i];
    if (ns === undefined) return false; // inner matches shorter paths than outer can
    // Outer is fixed-length from here on, so an inner "**" (any length, any value) escapes it.
    if (ns === REST) return false;
    // A literal covers only itself; "*" covers any single segment, literal or "*".
    if (os !== ONE && os !== ns) return false;
  }
  return n.length === o.length;
}

/** The inner patterns not covered by any single outer pattern (empty = subset). */
// Deliberately conservative: "GET /v1/**" is covered by "GET /v1/*" and "GET /v1/*/**" together but
// by neither alone, so it is reported. The possible error is refusing a child key that could have
// been allowed, never allowing one that reaches further than its parent.
export function uncoveredPatterns(outers: readonly EndpointPattern[], inners: readonly EndpointPattern[]): EndpointPattern[] {
  return inners.filter((inner) => !outers.some((outer) => patternCovers(outer, inner)));
}
