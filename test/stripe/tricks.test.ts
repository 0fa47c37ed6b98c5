/**
 * A corpus of path and body tricks, sent raw (no SDK, no URL parser in between). Each is refused
 * in Stripe's error envelope with a `keyleash_…` code, and the upstream receives nothing.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { raw, useStripeStack } from './harness.ts';

const stack = useStripeStack({ label: 'tricks' });

let vaultKey: string;

beforeAll(async () => {
  const key = await stack.api.issue({
    vendor: 'stripe',
    daily_usd_cap: 1_000_000,
    allowed_endpoints: ['POST /v1/payment_intents', 'POST /v1/payment_intents/*/confirm', 'GET /v1/customers/*'],
    expires_in: '1h',
    metadata: { role: 'tricks' },
  });
  vaultKey = key.vault_key;
});

const FORM = 'application/x-www-form-urlencoded';

interface Trick {
  name: string;
  method?: string;
  path: string;
  body?: string;
  contentType?: string;
  /** the refusal code expected; any keyleash_ code when omitted */
  code?: string;
}

const PATH_TRICKS: Trick[] = [
  { name: 'a ".." segment climbing into an allowed path', path: '/v1/customers/../payment_intents', code: 'keyleash_ambiguous_request' },
  { name: 'a ".." segment at the end', path: '/v1/payment_intents/..', code: 'keyleash_ambiguous_request' },
  { name: 'a "." segment', path: '/v1/./payment_intents', code: 'keyleash_ambiguous_request' },
  { name: 'an empty segment "//"', path: '/v1//payment_intents', code: 'keyleash_ambiguous_request' },
  { name: 'a leading "//"', path: '//v1/payment_intents', code: 'keyleash_ambiguous_request' },
  { name: 'an encoded slash %2F', path: '/v1/payment_intents%2Fpi_123/confirm', code: 'keyleash_ambiguous_request' },
  { name: 'an encoded slash %2f (lowercase)', path: '/v1%2fpayment_intents', code: 'keyleash_ambiguous_request' },
  { name: 'encoded dots %2e%2e', path: '/v1/customers/%2e%2e/payment_intents', code: 'keyleash_ambiguous_request' },
  { name: 'mixed-case encoded dots %2E%2e', path: '/v1/customers/%2E%2e/payment_intents', code: 'keyleash_ambiguous_request' },
  { name: 'a half-encoded dot-dot .%2e', path: '/v1/customers/.%2e/payment_intents', code: 'keyleash_ambiguous_request' },
  { name: 'a double-encoded slash %252F', path: '/v1/payment_intents%252Fpi_1/confirm', code: 'keyleash_ambiguous_request' },
  { name: 'an encoded backslash %5C', path: '/v1/customers%5C..%5Cpayment_intents', code: 'keyleash_ambiguous_request' },
  { name: 'a trailing "/"', path: '/v1/payment_intents/', code: 'keyleash_ambiguous_request' },
  { name: 'a trailing "/" after an action', path: '/v1/payment_intents/pi_1/confirm/', code: 'keyleash_ambiguous_request' },
  { name: 'matrix parameters ";x"', path: '/v1/payment_intents;x', code: 'keyleash_ambiguous_request' },
  { name: 'an encoded ";" %3B', path: '/v1/payment_intents%3Bx', code: 'keyleash_ambiguous_request' },
  { name: 'an encoded NUL %00', path: '/v1/payment_intents%00', code: 'keyleash_ambiguous_request' },
  { name: 'an encoded non-ASCII byte', path: '/v1/payment_%C4%B1ntents', code: 'keyleash_ambiguous_request' },
  { name: 'a malformed escape', path: '/v1/payment_intents%zz', code: 'keyleash_ambiguous_request' },
  { name: 'an upper-case version segment "/V1/"', path: '/V1/payment_intents', code: 'keyleash_endpoint_not_allowed' },
  { name: 'an upper-case resource', path: '/v1/PAYMENT_INTENTS', code: 'keyleash_endpoint_not_allowed' },
  { name: 'a mixed-case resource behind the vendor prefix', path: '/stripe/v1/Payment_Intents', code: 'keyleash_endpoint_not_allowed' },
  { name: 'an upper-case version behind the vendor prefix', path: '/stripe/V1/payment_intents', code: 'keyleash_endpoint_not_allowed' },
  { name: 'trailing junk after the resource', path: '/v1/payment_intents.json', code: 'keyleash_endpoint_not_allowed' },
  { name: 'an extra segment after an allowed action', path: '/v1/payment_intents/pi_1/confirm/extra', code: 'keyleash_endpoint_not_allowed' },
  { name: 'a wildcard match stretched over two segments', method: 'GET', path: '/v1/customers/cus_1/sources', code: 'keyleash_endpoint_not_allowed' },
];

const BODY_TRICKS: Trick[] = [
  { name: 'a duplicate amount', path: '/v1/payment_intents', body: 'amount=100&currency=usd&amount=999999' },
  { name: 'a duplicate currency', path: '/v1/payment_intents', body: 'amount=100&currency=jpy&currency=usd' },
  { name: 'amount as an array amount[]=1', path: '/v1/payment_intents', body: 'amount[]=1&currency=usd' },
  { name: 'amount as an indexed array amount[0]=1', path: '/v1/payment_intents', body: 'amount[0]=1&currency=usd' },
  { name: 'amount as an object amount[x]=1', path: '/v1/payment_intents', body: 'amount[x]=1&currency=usd' },
  { name: 'an encoded-bracket amount%5B%5D=1', path: '/v1/payment_intents', body: 'amount%5B%5D=1&amount=5&currency=usd' },
  { name: 'currency as an array', path: '/v1/payment_intents', body: 'amount=100&currency[]=usd' },
  { name: 'a JSON body declared as JSON', path: '/v1/payment_intents', body: '{"amount":100,"currency":"usd"}', contentType: 'application/json' },
  { name: 'a form body declared as JSON', path: '/v1/payment_intents', body: 'amount=100&currency=usd', contentType: 'application/json' },
  { name: 'a form body with no content type', path: '/v1/payment_intents', body: 'amount=100&currency=usd', contentType: '' },
  { name: 'a multipart body on a form endpoint', path: '/v1/payment_intents', body: '--b\r\nContent-Disposition: form-data; name="amount"\r\n\r\n100\r\n--b--\r\n', contentType: 'multipart/form-data; boundary=b' },
  { name: 'the amount in the query string of a priced POST', path: '/v1/payment_intents?amount=999999', body: 'amount=100&currency=usd' },
  { name: 'the whole request in the query string', path: '/v1/payment_intents?amount=100&currency=usd', body: '' },
  { name: 'a second amount spelled "amount]" (Rack reads it as amount)', path: '/v1/payment_intents', body: 'amount=100&currency=usd&amount]=999999' },
  { name: 'a second amount spelled "[amount]"', path: '/v1/payment_intents', body: 'amount=100&currency=usd&[amount]=999999' },
  { name: 'a second amount after an unencoded ";" (Rack 2 splits on it)', path: '/v1/payment_intents', body: 'currency=usd&amount=100;amount=999999' },
  { name: 'a second amount past the 2,000 parameters that are read', path: '/v1/payment_intents', body: `amount=100&currency=usd&${Array.from({ length: 2000 }, (_, i) => `metadata[k${i}]=v`).join('&')}&amount=999999` },
  { name: 'a non-numeric amount', path: '/v1/payment_intents', body: 'amount=abc&currency=usd' },
  { name: 'an exponent amount', path: '/v1/payment_intents', body: 'amount=1e3&currency=usd' },
  { name: 'a decimal amount', path: '/v1/payment_intents', body: 'amount=100.50&currency=usd' },
  { name: 'a negative amount', path: '/v1/payment_intents', body: 'amount=-500&currency=usd' },
  { name: 'a hex amount', path: '/v1/payment_intents', body: 'amount=0x10&currency=usd' },
  { name: 'a zero-padded amount', path: '/v1/payment_intents', body: 'amount=0100&currency=usd' },
  { name: 'an amount with a leading space', path: '/v1/payment_intents', body: 'amount=%20100&currency=usd' },
  { name: 'an empty amount', path: '/v1/payment_intents', body: 'amount=&currency=usd' },
  { name: 'an astronomically large amount', path: '/v1/payment_intents', body: 'amount=99999999999999999999&currency=usd' },
  { name: 'no amount at all', path: '/v1/payment_intents', body: 'currency=usd' },
  { name: 'a currency that is not a code', path: '/v1/payment_intents', body: 'amount=100&currency=dollars' },
  { name: 'a body that is not UTF-8', path: '/v1/payment_intents', body: Buffer.from([0x61, 0x6d, 0x6f, 0x75, 0x6e, 0x74, 0x3d, 0xff]).toString('latin1') },
];

async function send(trick: Trick) {
  const contentType = trick.contentType ?? FORM;
  return raw(stack.keyleash.url, {
    method: trick.method ?? 'POST',
    path: trick.path,
    headers: { authorization: `Bearer ${vaultKey}`, ...(contentType ? { 'content-type': contentType } : {}) },
    ...(trick.body !== undefined ? { body: trick.name.includes('UTF-8') ? Buffer.from(trick.body, 'latin1') : trick.body } : {}),
  });
}

async function expectRefusedUntouched(trick: Trick) {
  const before = stack.upstream.requests.length;
  const answer = await send(trick);
  expect(answer.status, answer.text).toBeGreaterThanOrEqual(400);
  expect(answer.status, answer.text).toBeLessThan(500);
  expect(answer.json?.error, answer.text).toBeDefined();
  expect(typeof answer.json.error.type).toBe('string');
  expect(typeof answer.json.error.message).toBe('string');
  expect(answer.json.error.code).toMatch(/^keyleash_/);
  if (trick.code) expect(answer.json.error.code).toBe(trick.code);
  expect(answer.headers['stripe-should-retry']).toBe('false');
  expect(stack.upstream.requests.length).toBe(before);
}

describe('path tricks are refused, never guessed', () => {
  for (const trick of PATH_TRICKS) {
    it(`refuses ${trick.name}: ${trick.method ?? 'POST'} ${trick.path}`, () => expectRefusedUntouched(trick));
  }
});

describe('body tricks on a priced endpoint are refused, never guessed', () => {
  for (const trick of BODY_TRICKS) {
    it(`refuses ${trick.name}`, () => expectRefusedUntouched({ ...trick, code: 'keyleash_ambiguous_request' }));
  }
});

describe('the corpus is not refusing everything', () => {
  it('the plain spelling of each request goes through', async () => {
    const before = stack.upstream.requests.length;
    const ok = await send({ name: 'plain', path: '/v1/payment_intents', body: 'amount=100&currency=usd' });
    expect(ok.status, ok.text).toBe(200);
    const prefixed = await send({ name: 'plain', path: '/stripe/v1/payment_intents', body: 'amount=100&currency=usd&metadata[order]=7&payment_method_types[0]=card' });
    expect(prefixed.status, prefixed.text).toBe(200);
    expect(stack.upstream.requests.length).toBe(before + 2);
  });
});
