/**
 * Normalisation of a vendor request path before it is matched against an endpoint allowlist.
 *
 * The allowlist is a security boundary, so the rule is: produce one canonical spelling for every
 * path that has exactly one reasonable meaning, and refuse everything whose meaning depends on how
 * the upstream (or something in between) happens to decode it. We never guess.
 */

/** The path of a vendor request as it arrived on the wire (no query string, after the proxy stripped its own /stripe or /twilio/<host> prefix). */
export type NormalisedPath =
  | { ok: true; path: string; segments: string[] }
  | { ok: false; reason: string };

// RFC 3986 "unreserved": encoding these never changes meaning, so %7E and ~ are the same path.
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
// Characters a path may carry literally: RFC 3986 pchar minus ";" (matrix parameters are read
// differently by different servers), plus "/" as the separator and "%" which starts an escape.
const LITERAL = /^[A-Za-z0-9\-._~!$&'()*+,=:@/%]$/;
const HEX2 = /^[0-9A-Fa-f]{2}$/;

/** Why an escape %xx must be refused, or undefined if it may stay (or be decoded). */
function encodedProblem(code: number, escape: string): string | undefined {
  if (code === 0x2f) {
    return `the path contains an encoded "/" (${escape}), which keyleash refuses rather than guess how the upstream decodes it`;
  }
  if (code === 0x5c) {
    return `the path contains an encoded "\\" (${escape}), which some servers treat as "/"`;
  }
  if (code === 0x25) {
    // A double-decoding hop would turn %252F into "/": the meaning depends on the number of decodes.
    return `the path contains an encoded "%" (${escape}), which means something different to a server that decodes twice`;
  }
  if (code === 0x3b) {
    return `the path contains an encoded ";" (${escape}), which some servers read as the start of matrix parameters`;
  }
  if (code < 0x20 || code === 0x7f) {
    return `the path contains an encoded control character (${escape})`;
  }
  if (code > 0x7f) {
    // Non-ASCII bytes invite Unicode tricks (fullwidth dots, normalisation forms); no vendor path needs them.
    return `the path contains an encoded non-ASCII byte (${escape})`;
  }
  return undefined;
}

/** Why a literal character must be refused, or undefined if it is fine as is. */
function literalProblem(ch: string): string | undefined {
  const code = ch.charCodeAt(0);
  if (ch === '\\') return 'the path contains a "\\", which some servers treat as "/"';
  if (ch === ';') return 'the path contains a ";", which some servers read as the start of matrix parameters';
  if (ch === '#') return 'the path contains a "#", which starts a fragment and is never sent to a server';
  if (ch === '?') return 'the path contains a "?"; the query string must be split off before the path is checked';
  if (code < 0x20 || code === 0x7f) return `the path contains a control character (U+${hex4(code)})`;
  if (code > 0x7f) return `the path contains a non-ASCII character (U+${hex4(code)})`;
  if (!LITERAL.test(ch)) return `the path contains the character "${ch}", which must be percent-encoded`;
  return undefined;
}

function hex4(code: number): string {
  return code.toString(16).toUpperCase().padStart(4, '0');
}

function refuse(reason: string): NormalisedPath {
  return { ok: false, reason };
}

export function normaliseRequestPath(rawPath: string): NormalisedPath {
  if (!rawPath.startsWith('/')) return refuse('the path does not start with "/"');
  if (rawPath === '/') return refuse('the path is just "/", and no vendor endpoint is the root');

  let path = '';
  // Indexing by UTF-16 code unit is deliberate: any unit above 0x7F (including half of a
  // surrogate pair) is refused, so nothing non-ASCII survives into `path`.
  for (let i = 0; i < rawPath.length; i++) {
    const ch = rawPath.charAt(i);
    if (ch !== '%') {
      const problem = literalProblem(ch);
      if (problem) return refuse(problem);
      path += ch;
      continue;
    }
    const hex = rawPath.slice(i + 1, i + 3);
    if (!HEX2.test(hex)) {
      return refuse(`the path contains a malformed percent-escape (${JSON.stringify(rawPath.slice(i, i + 3))}); "%" must be followed by two hex digits`);
    }
    const escape = `%${hex.toUpperCase()}`;
    const code = parseInt(hex, 16);
    const problem = encodedProblem(code, escape);
    if (problem) return refuse(problem);
    const decoded = String.fromCharCode(code);
    // Decode only what cannot change meaning; everything else keeps one canonical (uppercase) spelling.
    path += UNRESERVED.test(decoded) ? decoded : escape;
    i += 2;
  }

  // Dot segments are checked after decoding, so %2e%2E is caught as "..".
  const segments = path.slice(1).split('/');
  for (const [index, segment] of segments.entries()) {
    if (segment === '') {
      return refuse(index === segments.length - 1 ? 'the path ends with "/"' : 'the path contains an empty segment ("//")');
    }
    if (segment === '.' || segment === '..') {
      return refuse(`the path contains a "${segment}" segment, which servers resolve differently`);
    }
  }
  return { ok: true, path, segments };
}
