/**
 * A local, Stripe-faithful fake of api.stripe.com (plus the files and connect hosts' paths) for
 * end-to-end tests, examples and benchmarks. No network beyond the loopback listener.
 *
 * Request pipeline: record → injected fault? → auth → route (spec paths, OAuth) → parse params →
 * idempotency replay? → validate against the spec → stateful handler or fixture → answer.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseMultipart, parseUrlEncoded } from './form.ts';
import type { Params } from './form.ts';
import { loadSpec } from './spec.ts';
import type { RouteMatch } from './spec.ts';
import { StripeState, newId, statelessResponse, stripeError } from './state.ts';
import type { ApiResult } from './state.ts';
import { validateParams } from './validate.ts';

export interface RecordedRequest {
  method: string;
  /** path and query as received */
  url: string;
  /** path without the query */
  path: string;
  /** lowercased names, as Node delivers them */
  headers: Record<string, string | string[] | undefined>;
  rawBody: string;
  /** parsed body (form or multipart; file parts summarised as {filename, contentType, size}) */
  form: Record<string, unknown>;
  /** parsed query string */
  query: Record<string, unknown>;
}

export interface InjectRule {
  /** any method when omitted */
  method?: string;
  /** any path when omitted */
  pathPrefix?: string;
  /** answer with this status instead of handling the request; omitted = handle normally (after delayMs) */
  status?: number;
  /** JSON body (a string is sent as-is); default: a Stripe-shaped api_error */
  body?: unknown;
  /** extra response headers, e.g. {'stripe-should-retry': 'false'} */
  headers?: Record<string, string>;
  /** wait this long before answering (lets tests provoke client timeouts) */
  delayMs?: number;
  /** how many matching requests the rule applies to; default 1 */
  times?: number;
}

export interface FakeStripe {
  url: string;
  port: number;
  /** every request received, in order (including rejected ones) */
  requests: RecordedRequest[];
  /** clears requests, stored objects, idempotency keys and pending injections */
  reset(): void;
  /** the next N requests matching method+path prefix answer with this status/body instead (for 5xx/timeout tests); delayMs lets tests provoke timeouts */
  inject(rule: InjectRule): void;
  close(): Promise<void>;
}

export interface FakeStripeOptions {
  secret: string;
  port?: number;
  host?: string;
}

interface SavedResponse {
  endpoint: string;
  params: string;
  requestId: string;
  result: ApiResult;
}

export async function startFakeStripe(opts: FakeStripeOptions): Promise<FakeStripe> {
  const spec = await loadSpec();
  const state = new StripeState(spec.fixtures);
  const requests: RecordedRequest[] = [];
  const rules: Array<InjectRule & { left: number }> = [];
  const idempotency = new Map<string, SavedResponse>();
  const sleepers = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();
  let closed = false;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          sleepers.delete(entry);
          resolve();
        }, ms),
        wake: resolve,
      };
      sleepers.add(entry);
    });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const method = (req.method ?? 'GET').toUpperCase();
    const url = req.url ?? '/';
    const qIndex = url.indexOf('?');
    const pathname = qIndex < 0 ? url : url.slice(0, qIndex);
    const query = qIndex < 0 ? {} : parseUrlEncoded(url.slice(qIndex + 1));
    const contentType = String(req.headers['content-type'] ?? '');
    const form =
      method !== 'POST'
        ? {}
        : contentType.startsWith('multipart/form-data')
          ? parseMultipart(raw, contentType)
          : parseUrlEncoded(raw.toString('utf8'));
    requests.push({ method, url, path: pathname, headers: { ...req.headers }, rawBody: raw.toString('utf8'), form, query });

    const requestId = newId('req_', 14);
    const send = (result: ApiResult, extra: Record<string, string> = {}) => {
      if (closed || res.destroyed) return; // the client gave up (timeout tests) or we are shutting down
      const isBuffer = Buffer.isBuffer(result.body);
      const body = isBuffer || typeof result.body === 'string' ? (result.body as Buffer | string) : `${JSON.stringify(result.body, null, 2)}\n`;
      res.writeHead(result.status, {
        'content-type': 'application/json',
        'request-id': requestId,
        'stripe-version': String(req.headers['stripe-version'] ?? spec.version),
        ...(method === 'POST' && typeof req.headers['idempotency-key'] === 'string' ? { 'idempotency-key': req.headers['idempotency-key'] } : {}),
        ...result.headers,
        ...extra,
      });
      res.end(body);
    };

    // Injected faults come first: they stand for failures in front of the API (load balancer,
    // network), so they are not stored for idempotent replay either.
    const rule = rules.find((r) => (!r.method || r.method.toUpperCase() === method) && (!r.pathPrefix || pathname.startsWith(r.pathPrefix)));
    if (rule) {
      if (--rule.left <= 0) rules.splice(rules.indexOf(rule), 1);
      if (rule.delayMs) await sleep(rule.delayMs);
      if (closed) return;
      if (rule.status !== undefined) {
        const body =
          rule.body ??
          (rule.status >= 500
            ? { error: { type: 'api_error', message: 'An unknown error occurred (injected by fake-stripe).' } }
            : { error: { type: 'invalid_request_error', message: 'Injected by fake-stripe.' } });
        return send({ status: rule.status, body, headers: rule.headers ?? {} });
      }
    }

    const authError = checkAuth(req.headers.authorization, opts.secret);
    if (authError) return send(authError, { 'www-authenticate': 'Bearer realm="Stripe"' });

    if (method === 'POST' && (pathname === '/oauth/token' || pathname === '/oauth/deauthorize')) {
      return send(oauth(pathname, form));
    }
    const match = spec.match(method, pathname);
    if (!match) {
      return send(
        stripeError(404, `Unrecognized request URL (${method}: ${pathname}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`, {
          code: 'resource_missing',
        }),
      );
    }

    // Stripe reads GET and DELETE parameters from the query string, POST parameters from the body.
    const params = method === 'POST' ? form : query;
    const key = method === 'POST' ? req.headers['idempotency-key'] : undefined;
    const scope = typeof key === 'string' && key !== '' ? `${String(req.headers['stripe-account'] ?? '')} ${key}` : undefined;
    const saved = scope ? idempotency.get(scope) : undefined;
    if (saved) return send(replay(saved, `${method} ${pathname}`, params, String(key)));

    const result = execute(state, method, pathname, match, params);
    // Like Stripe, only requests that passed validation and began executing are saved.
    if (scope && result.saved) {
      idempotency.set(scope, { endpoint: `${method} ${pathname}`, params: canonical(params), requestId, result: result.result });
    }
    return send(result.result);
  }

  function replay(saved: SavedResponse, endpoint: string, params: Params, key: string): ApiResult {
    if (saved.endpoint !== endpoint) {
      return stripeError(
        400,
        `Keys for idempotent requests can only be used for the same endpoint they were first used for ('${saved.endpoint}' vs '${endpoint}'). ` +
          `Try using a key other than '${key}' if you meant to execute a different request.`,
        { type: 'idempotency_error' },
      );
    }
    if (saved.params !== canonical(params)) {
      return stripeError(
        400,
        `Keys for idempotent requests can only be used with the same parameters they were first used with. ` +
          `Try using a key other than '${key}' if you meant to execute a different request.`,
        { type: 'idempotency_error' },
      );
    }
    return {
      ...saved.result,
      headers: { ...saved.result.headers, 'idempotent-replayed': 'true', 'original-request': saved.requestId },
    };
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { type: 'api_error', message: `fake-stripe internal error: ${String(err)}` } }));
      }
    });
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://${host}:${port}`,
    port,
    requests,
    reset() {
      requests.length = 0; // in place, so references held by tests stay live
      rules.length = 0;
      idempotency.clear();
      state.reset();
    },
    inject(rule) {
      rules.push({ ...rule, left: rule.times ?? 1 });
    },
    close() {
      closed = true;
      for (const s of sleepers) {
        clearTimeout(s.timer);
        s.wake();
      }
      sleepers.clear();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function execute(
  state: StripeState,
  method: string,
  pathname: string,
  match: RouteMatch,
  params: Params,
): { result: ApiResult; saved: boolean } {
  const route = match.route;
  // DELETE operations declare their (rare) parameters as a body schema although they travel in the query.
  const bodyProps = Object.keys(route.bodySchema?.properties ?? {}).length;
  const schema = method === 'POST' || (method === 'DELETE' && bodyProps > 0) ? route.bodySchema : route.querySchema;
  const checked = validateParams(params, schema);
  if (!checked.ok) {
    const { code, message, param } = checked.error;
    return { result: stripeError(400, message, { ...(code ? { code } : {}), param }), saved: false };
  }
  const call = { method, pathname, match, input: checked.value };
  const result = state.handle(call) ?? statelessResponse(state, call);
  if (result.status === 200) result.body = state.expand(result.body, call.input.expand);
  return { result, saved: true };
}

function checkAuth(header: string | undefined, secret: string): ApiResult | undefined {
  if (!header) {
    return stripeError(
      401,
      "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). " +
        'See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.',
    );
  }
  const presented = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : header;
  if (header.startsWith('Bearer ') && presented === secret) return undefined;
  return stripeError(401, `Invalid API Key provided: ${maskKey(presented)}`);
}

/** `sk_test_abcdef…1234` → `sk_test_****1234`; short keys show no tail at all. */
export function maskKey(key: string): string {
  const prefix = /^[a-z]{2,5}_(?:test_|live_)?/.exec(key)?.[0] ?? '';
  const rest = key.slice(prefix.length);
  return `${prefix}****${rest.length > 8 ? rest.slice(-4) : ''}`;
}

/** connect.stripe.com's two endpoints (not in the API spec); OAuth errors have their own flat shape. */
function oauth(pathname: string, form: Params): ApiResult {
  if (pathname === '/oauth/deauthorize') {
    if (typeof form.stripe_user_id !== 'string') {
      return { status: 400, body: { error: 'invalid_request', error_description: 'No stripe_user_id provided' } };
    }
    return { status: 200, body: { stripe_user_id: form.stripe_user_id } };
  }
  const grant = form.grant_type;
  if (grant !== 'authorization_code' && grant !== 'refresh_token') {
    return { status: 400, body: { error: 'invalid_request', error_description: 'No grant type specified' } };
  }
  const needed = grant === 'authorization_code' ? 'code' : 'refresh_token';
  if (typeof form[needed] !== 'string') {
    return { status: 400, body: { error: 'invalid_grant', error_description: `No ${needed} provided` } };
  }
  return {
    status: 200,
    body: {
      access_token: newId('sk_test_'),
      livemode: false,
      refresh_token: newId('rt_'),
      scope: typeof form.scope === 'string' ? form.scope : 'read_write',
      stripe_publishable_key: newId('pk_test_'),
      stripe_user_id: newId('acct_', 16),
      token_type: 'bearer',
    },
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** JSON with sorted keys, so `a=1&b=2` and `b=2&a=1` count as the same parameters. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
