/**
 * Bounded input and one credential per request, in front of the fake Stripe: bodies over the
 * host's limit (1 MiB for api.stripe.com, 32 MiB for files.stripe.com uploads) are answered 413 in
 * Stripe's error shape without reaching the upstream, whether the size is declared, chunked,
 * streamed slowly or declared falsely; more than one credential is answered 400. Raw TCP for what
 * an SDK would never send; the official SDK for what it would.
 */
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { startKeyleash } from '../support/keyleash-process.ts';
import { chunkedEncoding, chunksOf, exchange, requestHead } from '../support/raw-socket.ts';
import { issueStripeKey, sdk, sdkError, useStripeStack, type SentRequest } from './harness.ts';

const MIB = 1024 * 1024;
const stack = useStripeStack({ label: 'limits' });

async function customerKey() {
  return issueStripeKey(stack, { allowed_endpoints: ['POST /v1/customers', 'POST /v1/files'] });
}

function formHead(vaultKey: string, path: string, extra: [string, string][]): string {
  return requestHead('POST', path, [['Host', 'localhost'], ['Authorization', `Bearer ${vaultKey}`], ['Content-Type', 'application/x-www-form-urlencoded'], ...extra]);
}

function expectTooLarge(answer: { status: number; json: any }, limitText: string, host: string) {
  expect(answer.status).toBe(413);
  expect(answer.json.error.type).toBe('invalid_request_error');
  expect(answer.json.error.code).toBe('keyleash_body_too_large');
  expect(answer.json.error.message).toContain(`at most ${limitText}`);
  expect(answer.json.error.message).toContain(`--max-body ${host}=<size>`);
  expect(answer.json.error.message).toContain('Nothing was sent to stripe');
}

describe('request bodies over the limit are refused with 413 and never reach Stripe', () => {
  it('a small body on the same endpoint does reach Stripe (the control)', async () => {
    const key = await customerKey();
    const before = stack.upstream.requests.length;
    const body = 'description=small';
    const answer = await exchange(stack.keyleash.url, formHead(key.vault_key, '/v1/customers', [['Content-Length', String(body.length)]]), [Buffer.from(body)]);
    expect(answer.status).toBe(200);
    expect(stack.upstream.requests.length).toBe(before + 1);
  });

  it('api.stripe.com: a declared 10 MiB body is refused before it is read', async () => {
    const key = await customerKey();
    const before = stack.upstream.requests.length;
    const answer = await exchange(stack.keyleash.url, formHead(key.vault_key, '/v1/customers', [['Content-Length', String(10 * MIB)]]), chunksOf(160, 64 * 1024));
    expectTooLarge(answer, '1 MiB', 'api.stripe.com');
    // answered long before the client could send it all
    expect(answer.bodyBytesSent).toBeLessThan(4 * MIB);
    expect(stack.upstream.requests.length).toBe(before);
  });

  it('api.stripe.com: a chunked body with no content-length is cut off once it passes 1 MiB', async () => {
    const key = await customerKey();
    const before = stack.upstream.requests.length;
    // 64 MiB offered. What the client manages to write before the answer arrives includes what the
    // loopback socket buffers absorb unread (several MiB on a busy machine: 5 MiB was seen), so the
    // bound says "stopped reading far before the end", not "read exactly 1 MiB".
    const answer = await exchange(stack.keyleash.url, formHead(key.vault_key, '/v1/customers', [['Transfer-Encoding', 'chunked']]), chunkedEncoding(chunksOf(1024, 64 * 1024)));
    expectTooLarge(answer, '1 MiB', 'api.stripe.com');
    expect(answer.bodyBytesSent).toBeLessThan(16 * MIB);
    expect(stack.upstream.requests.length).toBe(before);
  });

  it('a content-length that overstates the body is refused on what it declares, without waiting for the bytes', async () => {
    const key = await customerKey();
    const before = stack.upstream.requests.length;
    const answer = await exchange(stack.keyleash.url, formHead(key.vault_key, '/v1/customers', [['Content-Length', String(2 * MIB)]]), [Buffer.from('description=tiny')]);
    expectTooLarge(answer, '1 MiB', 'api.stripe.com');
    expect(stack.upstream.requests.length).toBe(before);
  });

  it('a content-length that understates the body: only the declared bytes are a body, the rest is never a request', async () => {
    const key = await customerKey();
    const before = stack.upstream.requests.length;
    const declared = 'description=x';
    const answer = await exchange(
      stack.keyleash.url,
      formHead(key.vault_key, '/v1/customers', [['Content-Length', String(declared.length)]]),
      [Buffer.from(declared), ...chunksOf(40, 64 * 1024, 'b')],
      800,
    );
    // Node's parser reads exactly the declared bytes; the rest cannot parse as a request, so Node
    // answers 400 or resets the connection, possibly before the first request's answer
    expect([0, 200, 400]).toContain(answer.status);
    const after = stack.upstream.requests.slice(before);
    expect(after.length).toBeLessThanOrEqual(1);
    for (const request of after) expect(request.rawBody).toBe(declared);
  });

  it('files.stripe.com: an upload over 32 MiB is refused; one under it is not', async () => {
    const key = await customerKey();
    // uploads only: the previous test's request may still reach the upstream while this one runs
    const uploads = () => stack.upstream.requests.filter((request) => request.path === '/v1/files').length;
    const before = uploads();
    const boundary = 'keyleashlimit';
    const head = (length: number) =>
      requestHead('POST', '/v1/files', [
        ['Host', 'localhost'],
        ['Authorization', `Bearer ${key.vault_key}`],
        ['Content-Type', `multipart/form-data; boundary=${boundary}`],
        ['Content-Length', String(length)],
      ]);
    const tooLarge = await exchange(stack.keyleash.url, head(33 * MIB), chunksOf(33 * 16, 64 * 1024));
    expectTooLarge(tooLarge, '32 MiB', 'files.stripe.com');
    expect(uploads()).toBe(before);

    const file = Buffer.alloc(2 * MIB, 'c');
    const multipart = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\ndispute_evidence\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="evidence.txt"\r\nContent-Type: text/plain\r\n\r\n`),
      file,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const fits = await exchange(stack.keyleash.url, head(multipart.length), [multipart], 1000);
    expect(fits.status).not.toBe(413);
    expect(uploads()).toBe(before + 1);
  });

  it('the official SDK raises StripeAPIError (status 413, the keyleash code) and does not retry it', async () => {
    const key = await customerKey();
    const before = stack.upstream.requests.length;
    const sent: SentRequest[] = [];
    const stripe = sdk(stack.keyleash.url, key.vault_key, { maxNetworkRetries: 2, record: sent });
    const error = await sdkError(stripe.customers.create({ description: 'x'.repeat(2 * MIB) }));
    // stripe-node picks StripeInvalidRequestError only for 400/404; any other status is StripeAPIError
    expect(error).toBeInstanceOf(Stripe.errors.StripeAPIError);
    expect(error.statusCode).toBe(413);
    expect(error.code).toBe('keyleash_body_too_large');
    expect(error.message).toContain('at most 1 MiB');
    expect(sent).toHaveLength(1);
    expect(stack.upstream.requests.length).toBe(before);
  });

  it('the management API refuses a JSON body over 256 KiB with 413', async () => {
    const body = JSON.stringify({ vendor: 'stripe', allowed_endpoints: ['GET /v1/*'], expires_in: '1h', metadata: { pad: 'p'.repeat(300 * 1024) } });
    const answer = await exchange(
      stack.keyleash.url,
      requestHead('POST', '/api/vault_keys', [['Host', 'localhost'], ['Authorization', `Bearer ${stack.keyleash.adminToken}`], ['Content-Type', 'application/json'], ['Content-Length', String(body.length)]]),
      [Buffer.from(body)],
    );
    expect(answer.status).toBe(413);
    expect(answer.json.error.code).toBe('body_too_large');
    expect(answer.json.error.message).toContain('256 KiB');
    const chunked = await exchange(
      stack.keyleash.url,
      requestHead('POST', '/api/vault_keys', [['Host', 'localhost'], ['Authorization', `Bearer ${stack.keyleash.adminToken}`], ['Content-Type', 'application/json'], ['Transfer-Encoding', 'chunked']]),
      chunkedEncoding(chunksOf(64, 16 * 1024)),
    );
    expect(chunked.status).toBe(413);
  });

  it('--max-body sets the limit per host (and for every other host); the refusal names the configured limit', async () => {
    const keyleash = await startKeyleash({
      upstreams: { 'api.stripe.com': stack.upstream.url, 'files.stripe.com': stack.upstream.url },
      env: { STRIPE_SECRET_KEY: stack.secret },
      extraArgs: ['--max-body', '2KiB', '--max-body', 'files.stripe.com=8KiB'],
    });
    try {
      const key = await (await import('../support/keyleash-process.ts')).adminApi(keyleash).issue({ vendor: 'stripe', daily_usd_cap: 10, allowed_endpoints: ['POST /v1/customers', 'POST /v1/files'], expires_in: '1h' });
      const before = stack.upstream.requests.length;
      const body = `description=${'d'.repeat(3000)}`;
      const answer = await exchange(keyleash.url, formHead(key.vault_key, '/v1/customers', [['Content-Length', String(body.length)]]), [Buffer.from(body)]);
      expectTooLarge(answer, '2 KiB', 'api.stripe.com');
      // the same 3 KB fits the upload host's own limit (it reaches the pipeline: not a 413)
      const upload = await exchange(keyleash.url, requestHead('POST', '/v1/files', [['Host', 'localhost'], ['Authorization', `Bearer ${key.vault_key}`], ['Content-Type', 'multipart/form-data; boundary=x'], ['Content-Length', String(body.length)]]), [Buffer.from(body)]);
      expect(upload.status).not.toBe(413);
      expect(stack.upstream.requests.slice(before).every((request) => request.path !== '/v1/customers')).toBe(true);
    } finally {
      await keyleash.stop();
    }
  });
});

describe('a request presenting more than one credential is refused with 400 and never reaches Stripe', () => {
  it.each([
    ['two Authorization headers, the same vault key twice', (k: string) => [['Authorization', `Bearer ${k}`], ['Authorization', `Bearer ${k}`]]],
    ['two Authorization headers, Bearer then Basic', (k: string) => [['Authorization', `Bearer ${k}`], ['authorization', `Basic ${Buffer.from(`${k}:`).toString('base64')}`]]],
    ['one Authorization header holding Bearer and Basic', (k: string) => [['Authorization', `Bearer ${k}, Basic ${Buffer.from('sk_live_x:').toString('base64')}`]]],
  ] as const)('%s', async (_, headers) => {
    const key = await customerKey();
    const before = stack.upstream.requests.length;
    const body = 'description=dup';
    const answer = await exchange(
      stack.keyleash.url,
      requestHead('POST', '/v1/customers', [['Host', 'localhost'], ...(headers(key.vault_key) as [string, string][]), ['Content-Type', 'application/x-www-form-urlencoded'], ['Content-Length', String(body.length)]]),
      [Buffer.from(body)],
    );
    expect(answer.status).toBe(400);
    expect(answer.json.error.code).toBe('keyleash_conflicting_credentials');
    expect(answer.json.error.message).toMatch(/send exactly one, holding the vault key/);
    expect(answer.text.toLowerCase()).toContain('stripe-should-retry: false');
    expect(stack.upstream.requests.length).toBe(before);
  });

  it('the management API refuses two Authorization headers too (the admin token and a vault key)', async () => {
    const key = await customerKey();
    const answer = await exchange(
      stack.keyleash.url,
      requestHead('GET', '/api/vault_keys', [['Host', 'localhost'], ['Authorization', `Bearer ${key.vault_key}`], ['Authorization', `Bearer ${stack.keyleash.adminToken}`]]),
    );
    expect(answer.status).toBe(400);
    expect(answer.json.error.code).toBe('conflicting_credentials');
  });
});
