/**
 * Requests the vendor could read differently from keyleash are refused before anything is sent:
 * method and path overrides (headers or a `_method` parameter), compressed or transfer-coded
 * bodies, multipart bodies outside the upload host, forms in another charset, two Content-Types,
 * a money parameter only an old API version knows, absolute-form targets. The official SDK where
 * it can send the request; raw TCP for what it never would.
 */
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { exchange, requestHead } from '../support/raw-socket.ts';
import { auditOf, issueStripeKey, sdk, sdkError, useStripeStack } from './harness.ts';

const stack = useStripeStack({ label: 'framing' });
const CUSTOMER = 'cus_framing123';

function customerKey() {
  return issueStripeKey(stack, { allowed_endpoints: ['POST /v1/customers', 'POST /v1/customers/*', 'DELETE /v1/customers/*', 'POST /v1/files'] });
}

function head(vaultKey: string, path: string, headers: [string, string][], method = 'POST'): string {
  return requestHead(method, path, [['Host', 'localhost'], ['Authorization', `Bearer ${vaultKey}`], ...headers]);
}

async function rawPost(vaultKey: string, path: string, headers: [string, string][], body: string | Buffer, method = 'POST') {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  return exchange(stack.keyleash.url, head(vaultKey, path, [...headers, ['Content-Length', String(bytes.length)]], method), [bytes]);
}

const FORM: [string, string] = ['Content-Type', 'application/x-www-form-urlencoded'];

describe('method and path overrides are refused for every request, before Stripe sees it', () => {
  it('stripe-node with X-HTTP-Method-Override: DELETE on a customer update gets StripeInvalidRequestError, and nothing reaches Stripe', async () => {
    const key = await customerKey();
    const before = stack.upstream.requests.length;
    const stripe = sdk(stack.keyleash.url, key.vault_key);
    const error = await sdkError(stripe.rawRequest('POST', `/v1/customers/${CUSTOMER}`, { description: 'x' }, { additionalHeaders: { 'X-HTTP-Method-Override': 'DELETE' } }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(error.statusCode).toBe(400);
    expect(error.code).toBe('keyleash_request_override');
    // stripe-node normalises the header name's case
    expect(error.message).toMatch(/X-HTTP-Method-Override/i);
    expect(error.message).toContain('send the real method and path, without that header');
    expect(error.message).toContain('Nothing was sent to stripe');
    expect(stack.upstream.requests.length).toBe(before);
  });

  it.each(['X-HTTP-Method', 'X-Method-Override', 'x-http-method-override', 'X-Original-URL', 'X-Rewrite-URL'])('%s is refused with 400 (raw HTTP)', async (header) => {
    const key = await customerKey();
    const before = stack.upstream.requests.length;
    const answer = await rawPost(key.vault_key, `/v1/customers/${CUSTOMER}`, [FORM, [header, header.toLowerCase().includes('url') ? '/v1/customers' : 'DELETE']], 'description=x');
    expect(answer.status).toBe(400);
    expect(answer.json.error.code).toBe('keyleash_request_override');
    expect(answer.json.error.message).toContain(header);
    expect(stack.upstream.requests.length).toBe(before);
  });

  it('a _method parameter (body or query, any spelling) is refused through stripe-node too', async () => {
    const key = await customerKey();
    const before = stack.upstream.requests.length;
    const stripe = sdk(stack.keyleash.url, key.vault_key);
    const error = await sdkError(stripe.customers.update(CUSTOMER, { _method: 'DELETE' } as Stripe.CustomerUpdateParams));
    expect(error.statusCode).toBe(400);
    expect(error.code).toBe('keyleash_request_override');
    expect(error.message).toContain('"_method"');
    for (const [path, body] of [
      [`/v1/customers/${CUSTOMER}?_method=DELETE`, 'description=x'],
      [`/v1/customers/${CUSTOMER}`, '%5Fmethod=delete'],
      [`/v1/customers/${CUSTOMER}`, '_METHOD[x]=delete'],
    ] as const) {
      const answer = await rawPost(key.vault_key, path, [FORM], body);
      expect(answer.status, `${path} ${body}`).toBe(400);
      expect(answer.json.error.code).toBe('keyleash_request_override');
    }
    expect(stack.upstream.requests.length).toBe(before);
  });

  it('the control: the same update without an override reaches Stripe', async () => {
    const key = await customerKey();
    const stripe = sdk(stack.keyleash.url, key.vault_key);
    const created = await stripe.customers.create({ description: 'framing' });
    const before = stack.upstream.requests.length;
    await stripe.customers.update(created.id, { description: 'still framing' });
    expect(stack.upstream.requests.length).toBe(before + 1);
  });
});

describe('encoded bodies are refused with 415 before they are read', () => {
  it('stripe-node with Content-Encoding: gzip gets StripeAPIError 415, and nothing reaches Stripe', async () => {
    const key = await customerKey();
    const before = stack.upstream.requests.length;
    const stripe = sdk(stack.keyleash.url, key.vault_key, { maxNetworkRetries: 2 });
    const error = await sdkError(stripe.rawRequest('POST', '/v1/customers', { description: 'x' }, { additionalHeaders: { 'Content-Encoding': 'gzip' } }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeAPIError);
    expect(error.statusCode).toBe(415);
    expect(error.code).toBe('keyleash_encoded_body');
    expect(error.message).toContain('Content-Encoding gzip');
    expect(error.message).toContain('Send the body uncompressed');
    expect(stack.upstream.requests.length).toBe(before);
  });

  it.each([
    ['Content-Encoding: deflate', ['Content-Encoding', 'deflate']],
    ['Content-Encoding: br', ['Content-Encoding', 'br']],
    ['Content-Encoding: identity, gzip', ['Content-Encoding', 'identity, gzip']],
  ] as const)('%s is refused (raw HTTP)', async (_, header) => {
    const key = await customerKey();
    const before = stack.upstream.requests.length;
    const answer = await rawPost(key.vault_key, `/v1/customers/${CUSTOMER}`, [FORM, [...header]], 'balance=-500000');
    expect(answer.status).toBe(415);
    expect(answer.json.error.code).toBe('keyleash_encoded_body');
    expect(stack.upstream.requests.length).toBe(before);
  });

  it('Transfer-Encoding: gzip, chunked is refused; Content-Encoding: identity is not', async () => {
    const key = await customerKey();
    const before = stack.upstream.requests.length;
    const body = 'description=x';
    const chunked = `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
    const answer = await exchange(stack.keyleash.url, head(key.vault_key, '/v1/customers', [FORM, ['Transfer-Encoding', 'gzip, chunked']]), [Buffer.from(chunked)]);
    expect(answer.status).toBe(415);
    expect(answer.json.error.code).toBe('keyleash_encoded_body');
    expect(stack.upstream.requests.length).toBe(before);

    const identity = await rawPost(key.vault_key, '/v1/customers', [FORM, ['Content-Encoding', 'identity']], body);
    expect(identity.status).toBe(200);
    expect(stack.upstream.requests.length).toBe(before + 1);
  });
});

describe('a body is read one way only', () => {
  const boundary = 'kl';
  const multipart = (name: string, value: string) =>
    `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n--${boundary}--\r\n`;
  const MULTIPART: [string, string] = ['Content-Type', `multipart/form-data; boundary=${boundary}`];

  it('a multipart body to an api.stripe.com endpoint is refused, naming the upload endpoint', async () => {
    const key = await customerKey();
    const before = stack.upstream.requests.length;
    const answer = await rawPost(key.vault_key, `/v1/customers/${CUSTOMER}`, [MULTIPART], multipart('balance', '-500000'));
    expect(answer.status).toBe(400);
    expect(answer.json.error.code).toBe('keyleash_ambiguous_request');
    expect(answer.json.error.message).toContain('only for file uploads (POST /v1/files on files.stripe.com)');
    expect(stack.upstream.requests.length).toBe(before);
  });

  it('a multipart upload is taken on files.stripe.com only: the same upload named for api.stripe.com is refused', async () => {
    const key = await customerKey();
    const before = stack.upstream.requests.length;
    const body = multipart('purpose', 'dispute_evidence');
    const onApi = await rawPost(key.vault_key, '/stripe/api.stripe.com/v1/files', [MULTIPART], body);
    expect(onApi.status).toBe(400);
    expect(onApi.json.error.code).toBe('keyleash_ambiguous_request');
    expect(stack.upstream.requests.length).toBe(before);
    const onFiles = await rawPost(key.vault_key, '/v1/files', [MULTIPART], body);
    // reaches the fake Stripe (which wants a file part too): not a keyleash refusal
    expect(String(onFiles.json?.error?.code ?? '')).not.toMatch(/^keyleash_/);
    expect(stack.upstream.requests.length).toBe(before + 1);
  });

  it('a form in another charset, and two Content-Type headers, are refused', async () => {
    const key = await customerKey();
    const before = stack.upstream.requests.length;
    const utf16 = await rawPost(key.vault_key, '/v1/customers', [['Content-Type', 'application/x-www-form-urlencoded; charset=utf-16le']], 'description=x');
    expect(utf16.status).toBe(400);
    expect(utf16.json.error.message).toContain('charset=utf-16le');
    const two = await rawPost(key.vault_key, '/v1/customers', [FORM, MULTIPART], 'description=x');
    expect(two.status).toBe(400);
    expect(two.json.error.code).toBe('keyleash_ambiguous_request');
    expect(two.json.error.message).toContain('2 Content-Type headers');
    expect(stack.upstream.requests.length).toBe(before);
  });
});

describe('an old Stripe-Version does not make a money parameter free', () => {
  it('account_balance (balance before API version 2019-10-17) on a customer update is unpriced under a capped key', async () => {
    const key = await customerKey();
    const before = stack.upstream.requests.length;
    const stripe = sdk(stack.keyleash.url, key.vault_key, { apiVersion: '2019-09-09' });
    const error = await sdkError(stripe.customers.update(CUSTOMER, { account_balance: -500000 } as Stripe.CustomerUpdateParams));
    expect(error.statusCode).toBe(403);
    expect(error.code).toBe('keyleash_unpriced_endpoint');
    expect(error.message).toContain('"account_balance"');
    expect(stack.upstream.requests.length).toBe(before);
    expect((await auditOf(stack, key.id))[0]).toMatchObject({ decision: 'refused', reason: 'keyleash_unpriced_endpoint' });
  });
});

describe('request targets keyleash does not route', () => {
  it('an absolute-form target never reaches Stripe', async () => {
    const key = await customerKey();
    const before = stack.upstream.requests.length;
    const body = 'balance=-500000';
    const answer = await exchange(
      stack.keyleash.url,
      head(key.vault_key, `http://api.stripe.com/v1/customers/${CUSTOMER}`, [FORM, ['Content-Length', String(body.length)]]),
      [Buffer.from(body)],
    );
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(stack.upstream.requests.length).toBe(before);
  });
});
