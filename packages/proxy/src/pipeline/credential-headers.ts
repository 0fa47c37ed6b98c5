/**
 * One request, one credential. Node's HTTP parser keeps only the FIRST of several `Authorization`
 * headers, and another server on the way (or the vendor) may keep the last or join them: keyleash
 * would authenticate one vault key while something else reads another. So the raw headers are
 * inspected, and a request that presents credentials more than once, or more than one scheme in a
 * single header (`Bearer …, Basic …`), is refused before anything else looks at it.
 *
 * Neither Stripe nor Twilio reads an API credential from the query string or the body, so the
 * `Authorization` header is the only place a vendor credential can come from; `Proxy-Authorization`
 * never reaches a vendor (keyleash does not forward it) and carries no vault key.
 */
const SCHEME = /(?:^|,)\s*([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)\s+[^\s,]/g;

export function conflictingCredentials(rawHeaders: readonly string[]): string | undefined {
  const values: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === 'authorization') values.push(rawHeaders[i + 1]!);
  }
  if (values.length > 1) {
    const schemes = values.map((value) => /^\s*(\S+)/.exec(value)?.[1] ?? '(empty)');
    return `the request carries ${values.length} Authorization headers (${schemes.join(', ')}); send exactly one, holding the vault key`;
  }
  const [value] = values;
  // a second scheme follows a comma (SCHEME): without one the header holds one credential at most
  if (value === undefined || !value.includes(',')) return undefined;
  const schemes = [...value.matchAll(SCHEME)].map((match) => match[1]!);
  if (schemes.length > 1) return `the Authorization header holds ${schemes.length} credentials (${schemes.join(', ')}); send exactly one, holding the vault key`;
  return undefined;
}
