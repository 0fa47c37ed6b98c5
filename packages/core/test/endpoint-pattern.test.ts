import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  anyPatternMatches,
  endpointMatches,
  parseEndpointPattern,
  patternCovers,
  uncoveredPatterns,
} from '../src/endpoint-pattern.ts';
import type { EndpointPattern } from '../src/endpoint-pattern.ts';
import { normaliseRequestPath } from '../src/request-path.ts';

function pat(text: string): EndpointPattern {
  const parsed = parseEndpointPattern(text);
  if (!parsed.ok) throw new Error(`expected ${JSON.stringify(text)} to parse, got: ${parsed.reason}`);
  return parsed.pattern;
}

function reason(text: string): string {
  const parsed = parseEndpointPattern(text);
  if (parsed.ok) throw new Error(`expected ${JSON.stringify(text)} to be refused`);
  return parsed.reason;
}

/** Match a raw request the way the proxy will: normalise, then match the segments. */
function matches(pattern: string, method: string, rawPath: string): boolean {
  const normalised = normaliseRequestPath(rawPath);
  if (!normalised.ok) throw new Error(normalised.reason);
  return endpointMatches(pat(pattern), method, normalised.segments);
}

describe('parseEndpointPattern', () => {
  it('parses a literal pattern into an uppercase method and segments', () => {
    expect(pat('POST /v1/payment_intents')).toEqual({
      method: 'POST',
      segments: ['v1', 'payment_intents'],
      source: 'POST /v1/payment_intents',
    });
  });

  it('accepts the method in any case and stores it uppercase', () => {
    expect(pat('get /v1/customers/*').method).toBe('GET');
    expect(pat('Delete /v1/customers/*').method).toBe('DELETE');
  });

  it.each(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', '*'])('accepts the method %s', (method) => {
    expect(pat(`${method} /v1/x`).method).toBe(method);
  });

  it('accepts "*" and a final "**" as whole-segment wildcards', () => {
    expect(pat('GET /v1/customers/*').segments).toEqual(['v1', 'customers', '*']);
    expect(pat('* /v1/customers/**').segments).toEqual(['v1', 'customers', '**']);
    expect(pat('GET /**').segments).toEqual(['**']);
  });

  it('accepts Twilio style literal paths', () => {
    expect(pat('POST /2010-04-01/Accounts/*/Messages.json').segments).toEqual(['2010-04-01', 'Accounts', '*', 'Messages.json']);
  });

  it('ignores surrounding whitespace and keeps the trimmed text as source', () => {
    expect(pat('  GET /v1/x  ').source).toBe('GET /v1/x');
  });

  it('returns a frozen pattern so a policy cannot be changed after parsing', () => {
    const p = pat('GET /v1/x');
    expect(Object.isFrozen(p)).toBe(true);
    expect(Object.isFrozen(p.segments)).toBe(true);
  });

  const refused: [string, string, RegExp][] = [
    ['a partial wildcard', 'GET /v1/payment_intents/pi_*', /partial wildcard in segment "pi_\*"/],
    ['a wildcard glued to a literal', 'GET /v1/*.json', /partial wildcard/],
    ['a triple star', 'GET /v1/***', /partial wildcard/],
    ['"**" before the end', 'GET /v1/**/refunds', /"\*\*" may only end a pattern/],
    ['an unknown method', 'FETCH /v1/x', /unknown method "FETCH"/],
    ['a missing method', '/v1/x', /not of the form "METHOD \/path"/],
    ['a missing path', 'GET', /not of the form/],
    ['three parts', 'GET /v1/x /v1/y', /not of the form/],
    ['an empty string', '', /not of the form/],
    ['a relative path', 'GET v1/x', /does not start with "\/"/],
    ['a dot-dot segment', 'GET /v1/../admin', /"\.\." segment/],
    ['an encoded slash', 'GET /v1/a%2Fb', /encoded "\/"/],
    ['a trailing slash', 'GET /v1/customers/', /ends with "\/"/],
    ['a double slash', 'GET /v1//customers', /empty segment/],
    ['the root', 'GET /', /just "\/"/],
    ['a query string', 'GET /v1/x?limit=1', /query string/],
    ['a non-canonical escape', 'GET /v1/%7Euser', /not in normalised form; write the path as "\/v1\/~user"/],
    ['lowercase hex', 'GET /v1/a%3ab', /write the path as "\/v1\/a%3Ab"/],
  ];

  it.each(refused)('refuses %s with a reason naming the pattern', (_name, text, why) => {
    const r = reason(text);
    expect(r).toMatch(why);
    expect(r).toContain(`the endpoint pattern ${JSON.stringify(text.trim())}`);
  });
});

describe('endpointMatches', () => {
  it('matches a literal pattern only on the same method and the same path', () => {
    expect(matches('POST /v1/payment_intents', 'POST', '/v1/payment_intents')).toBe(true);
    expect(matches('POST /v1/payment_intents', 'GET', '/v1/payment_intents')).toBe(false);
    expect(matches('POST /v1/payment_intents', 'POST', '/v1/payment_intents/pi_1')).toBe(false);
    expect(matches('POST /v1/payment_intents', 'POST', '/v1/refunds')).toBe(false);
  });

  it('matches "*" to exactly one segment', () => {
    expect(matches('GET /v1/customers/*', 'GET', '/v1/customers/cus_1')).toBe(true);
    expect(matches('GET /v1/customers/*', 'GET', '/v1/customers')).toBe(false);
    expect(matches('GET /v1/customers/*', 'GET', '/v1/customers/cus_1/sources')).toBe(false);
  });

  it('matches "**" to one or more remaining segments, never zero', () => {
    expect(matches('GET /v1/**', 'GET', '/v1/customers')).toBe(true);
    expect(matches('GET /v1/**', 'GET', '/v1/customers/cus_1/sources/src_1')).toBe(true);
    expect(matches('GET /v1/**', 'GET', '/v1')).toBe(false);
    expect(matches('GET /v1/**', 'GET', '/v2/customers')).toBe(false);
  });

  it('matches any method with "*"', () => {
    for (const method of ['GET', 'POST', 'DELETE', 'OPTIONS']) {
      expect(matches('* /v1/customers/**', method, '/v1/customers/cus_1')).toBe(true);
    }
  });

  it('compares the request method case-sensitively', () => {
    expect(matches('GET /v1/x', 'get', '/v1/x')).toBe(false);
  });

  it('is case-sensitive on paths, so /V1 does not match a /v1 pattern', () => {
    expect(matches('GET /v1/customers', 'GET', '/V1/customers')).toBe(false);
  });

  it('matches a request whose unreserved characters were percent-encoded', () => {
    expect(matches('GET /v1/customers/*', 'GET', '/v1/%63ustomers/cus_1')).toBe(true);
  });

  it('matches Twilio paths with "+" in a segment', () => {
    expect(matches('GET /v2/PhoneNumbers/*', 'GET', '/v2/PhoneNumbers/+15551230000')).toBe(true);
  });

  it('anyPatternMatches is true iff some pattern matches', () => {
    const patterns = [pat('POST /v1/payment_intents'), pat('GET /v1/customers/*')];
    expect(anyPatternMatches(patterns, 'GET', ['v1', 'customers', 'cus_1'])).toBe(true);
    expect(anyPatternMatches(patterns, 'POST', ['v1', 'customers', 'cus_1'])).toBe(false);
    expect(anyPatternMatches([], 'GET', ['v1'])).toBe(false);
  });
});

describe('patternCovers', () => {
  const covers = (outer: string, inner: string): boolean => patternCovers(pat(outer), pat(inner));

  it('a "*" segment covers a literal in that position', () => {
    expect(covers('POST /v1/*', 'POST /v1/refunds')).toBe(true);
  });

  it('a literal does not cover a "*" in that position', () => {
    expect(covers('POST /v1/refunds', 'POST /v1/*')).toBe(false);
  });

  it('"**" covers a "*" pattern below it', () => {
    expect(covers('GET /v1/**', 'GET /v1/customers/*')).toBe(true);
  });

  it('a fixed-length pattern does not cover "**"', () => {
    expect(covers('GET /v1/customers/*', 'GET /v1/**')).toBe(false);
    expect(covers('GET /v1/*', 'GET /v1/**')).toBe(false);
  });

  it('"**" covers "**" at the same or a deeper position, not a shallower one', () => {
    expect(covers('GET /v1/**', 'GET /v1/**')).toBe(true);
    expect(covers('GET /v1/**', 'GET /v1/customers/**')).toBe(true);
    expect(covers('GET /v1/customers/**', 'GET /v1/**')).toBe(false);
  });

  it('"**" needs at least one inner segment at its position', () => {
    expect(covers('GET /v1/customers/**', 'GET /v1/customers')).toBe(false);
  });

  it('a pattern does not cover a shorter one', () => {
    expect(covers('GET /v1/customers/*', 'GET /v1/customers')).toBe(false);
  });

  it('a pattern does not cover a longer one', () => {
    expect(covers('GET /v1/customers', 'GET /v1/customers/*')).toBe(false);
  });

  it('a "*" method covers any method, a literal method only itself', () => {
    expect(covers('* /v1/x', 'DELETE /v1/x')).toBe(true);
    expect(covers('* /v1/x', '* /v1/x')).toBe(true);
    expect(covers('GET /v1/x', '* /v1/x')).toBe(false);
    expect(covers('GET /v1/x', 'POST /v1/x')).toBe(false);
  });

  it('compares patterns, not their spelling', () => {
    expect(covers('get /v1/x', 'GET /v1/x')).toBe(true);
  });
});

describe('uncoveredPatterns', () => {
  const parent = [pat('POST /v1/payment_intents'), pat('GET /v1/customers/*'), pat('* /v1/refunds/**')];

  it('is empty when every child pattern is inside some parent pattern', () => {
    const child = [pat('GET /v1/customers/cus_1'), pat('POST /v1/refunds/re_1/cancel'), pat('POST /v1/payment_intents')];
    expect(uncoveredPatterns(parent, child)).toEqual([]);
  });

  it('returns exactly the child patterns that reach beyond the parent', () => {
    const wider = pat('GET /v1/customers/**');
    const other = pat('POST /v1/customers/*');
    expect(uncoveredPatterns(parent, [pat('GET /v1/customers/*'), wider, other])).toEqual([wider, other]);
  });

  it('reports every child pattern when the parent has none', () => {
    const child = [pat('GET /v1/x')];
    expect(uncoveredPatterns([], child)).toEqual(child);
  });

  it('is conservative: a child pattern covered only by a union of parent patterns is reported', () => {
    const child = [pat('GET /v1/**')];
    expect(uncoveredPatterns([pat('GET /v1/*'), pat('GET /v1/*/**')], child)).toEqual(child);
  });
});

describe('pattern properties', () => {
  // Small alphabets so that coverage and matches happen often. Patterns use literals a and b;
  // requests also use c (a value no literal names) and PUT (a method no literal names), so a
  // wildcard is the only way to reach them.
  const PATTERN_METHODS = ['GET', 'POST', '*'] as const;
  const REQUEST_METHODS = ['GET', 'POST', 'PUT'] as const;
  const REQUEST_VALUES = ['a', 'b', 'c'] as const;
  const MAX_PATTERN_LENGTH = 3;
  // One longer than any pattern, so "**" versus fixed length is always distinguishable.
  const MAX_REQUEST_LENGTH = MAX_PATTERN_LENGTH + 1;

  const patternArb: fc.Arbitrary<EndpointPattern> = fc
    .record({
      method: fc.constantFrom(...PATTERN_METHODS),
      head: fc.array(fc.constantFrom('a', 'b', '*'), { minLength: 0, maxLength: MAX_PATTERN_LENGTH }),
      rest: fc.boolean(),
    })
    .filter(({ head, rest }) => head.length + (rest ? 1 : 0) >= 1 && head.length + (rest ? 1 : 0) <= MAX_PATTERN_LENGTH)
    .map(({ method, head, rest }) => pat(`${method} /${[...head, ...(rest ? ['**'] : [])].join('/')}`));

  const requestArb = fc.record({
    method: fc.constantFrom(...REQUEST_METHODS),
    segments: fc.array(fc.constantFrom(...REQUEST_VALUES), { minLength: 1, maxLength: MAX_REQUEST_LENGTH }),
  });

  // Every request in the bounded universe (3 methods x 120 paths).
  const universe: { method: string; segments: string[] }[] = [];
  let paths: string[][] = [[]];
  for (let length = 1; length <= MAX_REQUEST_LENGTH; length++) {
    paths = paths.flatMap((p) => REQUEST_VALUES.map((v) => [...p, v]));
    for (const method of REQUEST_METHODS) for (const segments of paths) universe.push({ method, segments });
  }

  it('if outer covers inner, every request inner matches is matched by outer', () => {
    fc.assert(
      fc.property(patternArb, patternArb, requestArb, (outer, inner, req) => {
        if (patternCovers(outer, inner) && endpointMatches(inner, req.method, req.segments)) {
          expect(endpointMatches(outer, req.method, req.segments)).toBe(true);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('covers is exact: it holds iff no request in a bounded universe escapes outer', () => {
    fc.assert(
      fc.property(patternArb, patternArb, (outer, inner) => {
        const escapes = universe.some(
          (r) => endpointMatches(inner, r.method, r.segments) && !endpointMatches(outer, r.method, r.segments),
        );
        expect(patternCovers(outer, inner)).toBe(!escapes);
      }),
      { numRuns: 1000 },
    );
  });

  it('covers is reflexive', () => {
    fc.assert(fc.property(patternArb, (p) => patternCovers(p, p)));
  });

  it('covers is transitive', () => {
    fc.assert(
      fc.property(patternArb, patternArb, patternArb, (a, b, c) => {
        if (patternCovers(a, b) && patternCovers(b, c)) expect(patternCovers(a, c)).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it('uncoveredPatterns returns exactly the inners no single outer covers', () => {
    fc.assert(
      fc.property(fc.array(patternArb, { maxLength: 4 }), fc.array(patternArb, { maxLength: 4 }), (outers, inners) => {
        const uncovered = uncoveredPatterns(outers, inners);
        for (const inner of inners) {
          expect(uncovered.includes(inner)).toBe(!outers.some((o) => patternCovers(o, inner)));
        }
      }),
    );
  });
});
