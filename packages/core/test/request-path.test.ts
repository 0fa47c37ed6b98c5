import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { normaliseRequestPath } from '../src/request-path.ts';

function accepted(raw: string): { path: string; segments: string[] } {
  const result = normaliseRequestPath(raw);
  if (!result.ok) throw new Error(`expected ${JSON.stringify(raw)} to be accepted, got: ${result.reason}`);
  return result;
}

function refusal(raw: string): string {
  const result = normaliseRequestPath(raw);
  if (result.ok) throw new Error(`expected ${JSON.stringify(raw)} to be refused, got ${result.path}`);
  return result.reason;
}

describe('normaliseRequestPath accepts legitimate vendor paths', () => {
  it.each([
    ['/v1/payment_intents', ['v1', 'payment_intents']],
    ['/v1/customers/cus_123', ['v1', 'customers', 'cus_123']],
    ['/2010-04-01/Accounts/AC123/Messages.json', ['2010-04-01', 'Accounts', 'AC123', 'Messages.json']],
    ['/v2/PhoneNumbers/+15551230000', ['v2', 'PhoneNumbers', '+15551230000']],
    ['/v1/a@b:c,d', ['v1', 'a@b:c,d']],
    ['/v1/x...y/.hidden/..z', ['v1', 'x...y', '.hidden', '..z']],
  ])('keeps %s unchanged', (raw, segments) => {
    expect(normaliseRequestPath(raw)).toEqual({ ok: true, path: raw, segments });
  });

  it('decodes an encoded unreserved "~" (%7E) to "~"', () => {
    expect(accepted('/v1/%7Euser').path).toBe('/v1/~user');
  });

  it('decodes an encoded letter (%41) to the letter', () => {
    expect(accepted('/v1/%41BC').path).toBe('/v1/ABC');
  });

  it('decodes unreserved escapes written in lowercase hex', () => {
    expect(accepted('/v1/%7e%2d%5f%2e%61').path).toBe('/v1/~-_.a');
  });

  it('keeps reserved escapes encoded but uppercases their hex (%3a -> %3A)', () => {
    expect(accepted('/v1/a%3ab%20c%2b').path).toBe('/v1/a%3Ab%20c%2B');
  });

  it('preserves case, so /V1 and /v1 stay different paths', () => {
    expect(accepted('/V1/Customers').path).toBe('/V1/Customers');
  });

  it('returns segments that rebuild the path exactly', () => {
    const { path, segments } = accepted('/2010-04-01/Accounts/AC1/Calls/CA2.json');
    expect('/' + segments.join('/')).toBe(path);
  });
});

describe('normaliseRequestPath refuses ambiguous or hostile paths with a reason', () => {
  const corpus: [string, string, RegExp][] = [
    ['dot-dot segment', '/v1/../admin', /"\.\." segment/],
    ['leading dot-dot', '/../v1/x', /"\.\." segment/],
    ['trailing dot-dot', '/v1/customers/..', /"\.\." segment/],
    ['dot segment', '/v1/./x', /"\." segment/],
    ['double slash in the middle', '/v1//customers', /empty segment/],
    ['double slash at the start', '//v1/customers', /empty segment/],
    ['encoded slash uppercase', '/v1/customers%2F..%2Fadmin', /encoded "\/" \(%2F\)/],
    ['encoded slash lowercase', '/v1/a%2fb', /encoded "\/" \(%2F\)/],
    ['encoded dot-dot lowercase', '/v1/%2e%2e/admin', /"\.\." segment/],
    ['encoded dot-dot mixed case', '/v1/%2e%2E/admin', /"\.\." segment/],
    ['half-encoded dot-dot', '/v1/.%2E/admin', /"\.\." segment/],
    ['encoded single dot', '/v1/%2E/x', /"\." segment/],
    ['encoded backslash', '/v1/a%5Cb', /encoded "\\" \(%5C\)/],
    ['encoded backslash lowercase', '/v1/a%5cb', /encoded "\\" \(%5C\)/],
    ['literal backslash', '/v1\\..\\admin', /"\\"/],
    ['encoded NUL', '/v1/x%00y', /control character \(%00\)/],
    ['raw NUL', '/v1/x\u0000y', /control character/],
    ['encoded newline', '/v1/x%0Ay', /control character \(%0A\)/],
    ['raw CR LF', '/v1/x\r\nHost: evil', /control character/],
    ['encoded DEL', '/v1/x%7F', /control character \(%7F\)/],
    ['raw tab', '/v1/x\ty', /control character/],
    ['trailing slash', '/v1/customers/', /ends with "\/"/],
    ['matrix parameter', '/v1/customers;jsessionid=x', /";"/],
    ['encoded semicolon', '/v1/customers%3Bjsessionid=x', /encoded ";"/],
    ['fragment', '/v1/customers#frag', /"#"/],
    ['query string left on', '/v1/customers?limit=1', /query string/],
    ['non-ASCII letter', '/v1/customérs', /non-ASCII character \(U\+00E9\)/],
    ['emoji', '/v1/\u{1F600}', /non-ASCII character/],
    ['fullwidth dots', '/v1/\uFF0E\uFF0E/admin', /non-ASCII character \(U\+FF0E\)/],
    ['one-dot leader', '/v1/\u2024\u2024/admin', /non-ASCII character/],
    ['encoded fullwidth dot', '/v1/%EF%BC%8E%EF%BC%8E/admin', /encoded non-ASCII byte \(%EF\)/],
    ['overlong encoded dot', '/v1/%C0%AE%C0%AE/admin', /encoded non-ASCII byte/],
    ['invalid hex escape', '/v1/%zz', /malformed percent-escape \("%zz"\)/],
    ['lone percent', '/v1/%', /malformed percent-escape \("%"\)/],
    ['percent with one hex digit', '/v1/a%4', /malformed percent-escape/],
    ['percent with one hex digit then more', '/v1/%4g', /malformed percent-escape/],
    ['double-encoded slash', '/v1/a%252Fb', /encoded "%" \(%25\)/],
    ['space', '/v1/a b', /character " ", which must be percent-encoded/],
    ['angle bracket', '/v1/<script>', /character "<"/],
    ['empty string', '', /start with "\/"/],
    ['relative path', 'v1/customers', /start with "\/"/],
    ['absolute URL', 'https://api.stripe.com/v1/x', /start with "\/"/],
    ['root only', '/', /just "\/"/],
  ];

  it.each(corpus)('refuses %s', (_name, raw, reason) => {
    expect(refusal(raw)).toMatch(reason);
  });

  it('names the problem in a full sentence', () => {
    expect(refusal('/v1/a%2Fb')).toBe(
      'the path contains an encoded "/" (%2F), which keyleash refuses rather than guess how the upstream decodes it',
    );
  });
});

describe('normaliseRequestPath properties', () => {
  // Mostly harmless fragments (so many paths are accepted and the decoding is exercised), with
  // enough hostile ones that every refusal branch comes up too.
  const fragment = fc.oneof(
    {
      weight: 12,
      arbitrary: fc.constantFrom(
        'a', 'B', 'z9', '-', '_', '~', '.', '+', ':', '@', ',', '*', '!',
        '%41', '%61', '%7e', '%7E', '%2e', '%2E', '%2d', '%3a', '%3A', '%20', '%2b',
      ),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom('%2F', '%5C', '%25', '%00', '%', '%zz', ';', '\\', '#', '?', 'é', '\uFF0E', ' ', '/'),
    },
  );
  const rawPath = fc
    .array(fc.array(fragment, { minLength: 0, maxLength: 4 }).map((parts) => parts.join('')), { minLength: 1, maxLength: 4 })
    .map((segments) => '/' + segments.join('/'));

  it('is idempotent on accepted paths', () => {
    fc.assert(
      fc.property(rawPath, (raw) => {
        const first = normaliseRequestPath(raw);
        if (!first.ok) return;
        expect(normaliseRequestPath(first.path)).toEqual(first);
      }),
      { numRuns: 2000 },
    );
  });

  it('only ever emits printable ASCII, with no dot segments, empty segments or dangerous escapes', () => {
    fc.assert(
      fc.property(fc.oneof(rawPath, fc.string({ unit: 'binary' }).map((s) => '/' + s)), (raw) => {
        const result = normaliseRequestPath(raw);
        if (!result.ok) {
          expect(result.reason).toMatch(/^the path /);
          return;
        }
        expect(result.path).toMatch(/^(\/[A-Za-z0-9\-._~!$&'()*+,=:@%]+)+$/);
        expect(result.path).not.toMatch(/%(2F|5C|25|3B|[01][0-9A-F]|7F|[89A-F][0-9A-F])/i);
        expect(result.segments.every((s) => s !== '' && s !== '.' && s !== '..')).toBe(true);
        expect('/' + result.segments.join('/')).toBe(result.path);
      }),
      { numRuns: 2000 },
    );
  });

  it('treats an unreserved character and its percent-encoding (either case) as the same path', () => {
    const unreservedChar = fc.constantFrom(...'ABCxyz019-._~'.split(''));
    const spelled = unreservedChar.chain((ch) => {
      const hex = ch.charCodeAt(0).toString(16);
      return fc.tuple(fc.constant(ch), fc.constantFrom(ch, `%${hex.toUpperCase()}`, `%${hex.toLowerCase()}`));
    });
    fc.assert(
      fc.property(fc.array(spelled, { minLength: 1, maxLength: 8 }), (pairs) => {
        const plain = '/v1/' + pairs.map(([ch]) => ch).join('');
        const encoded = '/v1/' + pairs.map(([, s]) => s).join('');
        expect(normaliseRequestPath(encoded)).toEqual(normaliseRequestPath(plain));
      }),
    );
  });
});
