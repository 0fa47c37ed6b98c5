/**
 * A recording pass-through between keyleash and Prism (which serves Twilio's OpenAPI specs).
 *
 * keyleash is pointed at it per Twilio host (`--upstream <host>=<recorder>/_host/<host>`), so one
 * recorder serves every host and knows which host each request was for; it forwards by product
 * (`api.sydney.us1.twilio.com` -> the `api` Prism). It records every request (host, method, path,
 * headers, body) and checks what only keyleash can guarantee: the real credentials arrived, and no
 * vault key or keyleash header did. A request that breaks either is answered 401 like Twilio would
 * and listed in `violations`.
 *
 * `echoAccount` makes Prism's fixed examples look like the real account's answers (as Twilio's do):
 * the example account SID becomes the real one, and an Account resource carries the real auth
 * token. That is what lets tests prove keyleash hides both from agents.
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export const PRISM_EXAMPLE_ACCOUNT_SID = `AC${'a'.repeat(32)}`;

export interface RecordedTwilioRequest {
  /** the Twilio host keyleash meant, e.g. api.sydney.us1.twilio.com */
  host: string;
  method: string;
  /** path and query as Twilio would have received them */
  url: string;
  path: string;
  query: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** the Basic credentials, decoded */
  username: string | undefined;
  password: string | undefined;
}

export interface TwilioRecorder {
  url: string;
  requests: RecordedTwilioRequest[];
  /** why a request should never have reached Twilio (wrong credentials, a vault key, a keyleash header) */
  violations: string[];
  /** keyleash's --upstream overrides for these hosts */
  upstreamsFor(hosts: readonly string[]): Record<string, string>;
  /** text that must never reach Twilio (vault key secrets): checked in every header, path and body */
  forbid(text: string): void;
  /** answer matching requests with this instead of forwarding (e.g. a status fetch that reveals a price) */
  respond(rule: { method: string; pathSuffix: string; status: number; body: unknown; times?: number }): void;
  reset(): void;
  close(): Promise<void>;
}

export interface RecorderOptions {
  /** product (the first host label: api, verify, messaging…) -> Prism base URL */
  targets: Record<string, string>;
  accountSid: string;
  /** the Basic username/password Twilio must receive: (account SID, auth token) or (API key SID, secret) */
  expectedUsername: string;
  expectedPassword: string;
  echoAccount?: { authToken: string };
}

export async function startTwilioRecorder(options: RecorderOptions): Promise<TwilioRecorder> {
  const requests: RecordedTwilioRequest[] = [];
  const violations: string[] = [];
  const forbidden: string[] = [];
  const rules: { method: string; pathSuffix: string; status: number; body: unknown; times: number }[] = [];

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const match = /^\/_host\/([^/]+)(\/.*)$/.exec(req.url ?? '');
      if (!match) {
        res.writeHead(404).end('recorder: expected /_host/<twilio host>/…');
        return;
      }
      const [, host = '', url = '/'] = match;
      const queryAt = url.indexOf('?');
      const auth = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
      const decoded = auth ? Buffer.from(auth[1]!, 'base64').toString('utf8') : undefined;
      const colon = decoded?.indexOf(':') ?? -1;
      const recorded: RecordedTwilioRequest = {
        host,
        method: req.method ?? 'GET',
        url,
        path: queryAt === -1 ? url : url.slice(0, queryAt),
        query: queryAt === -1 ? '' : url.slice(queryAt + 1),
        headers: req.headers,
        body: body.toString('utf8'),
        username: decoded && colon >= 0 ? decoded.slice(0, colon) : undefined,
        password: decoded && colon >= 0 ? decoded.slice(colon + 1) : undefined,
      };
      requests.push(recorded);

      const problems: string[] = [];
      if (recorded.username !== options.expectedUsername || recorded.password !== options.expectedPassword) problems.push('the real Twilio credentials did not arrive');
      const everything = [recorded.url, recorded.body, ...Object.entries(req.headers).map(([name, value]) => `${name}: ${String(value)}`)].join('\n');
      if (/vk_[a-z2-7]{16}/.test(everything)) problems.push('a vault key id reached Twilio');
      for (const text of forbidden) if (everything.includes(text)) problems.push('a vault key secret reached Twilio');
      if (Object.keys(req.headers).some((name) => name.startsWith('keyleash-'))) problems.push('a keyleash header reached Twilio');
      if (problems.length > 0) {
        violations.push(...problems.map((p) => `${recorded.method} ${host}${recorded.path}: ${p}`));
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 20003, message: 'Authenticate', more_info: 'https://www.twilio.com/docs/errors/20003', status: 401 }));
        return;
      }

      const rule = rules.find((r) => r.times > 0 && r.method === recorded.method && recorded.path.endsWith(r.pathSuffix));
      if (rule) {
        rule.times -= 1;
        res.writeHead(rule.status, { 'content-type': 'application/json' }).end(echo(JSON.stringify(rule.body)));
        return;
      }

      const target = options.targets[host.split('.')[0]!];
      if (!target) {
        res.writeHead(502).end(`recorder: no Prism for ${host}`);
        return;
      }
      const upstream = new URL(target);
      const headers = { ...req.headers, host: upstream.host };
      const forward = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: url, headers }, (answer) => {
        const parts: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => parts.push(chunk));
        answer.on('end', () => {
          const text = echo(Buffer.concat(parts).toString('utf8'));
          const out = { ...answer.headers, 'content-length': String(Buffer.byteLength(text)), 'twilio-request-id': `RQ${requests.length.toString(16).padStart(32, '0')}` };
          delete out['transfer-encoding'];
          res.writeHead(answer.statusCode ?? 502, out).end(text);
        });
      });
      forward.on('error', (error) => res.writeHead(502).end(`recorder: ${error.message}`));
      forward.end(body);
    });
  });

  function echo(text: string): string {
    if (!options.echoAccount) return text;
    return text.replaceAll(PRISM_EXAMPLE_ACCOUNT_SID, options.accountSid).replaceAll('"auth_token":"auth_token"', `"auth_token":"${options.echoAccount.authToken}"`);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    violations,
    upstreamsFor: (hosts) => Object.fromEntries(hosts.map((host) => [host, `${url}/_host/${host}`])),
    forbid: (text) => void forbidden.push(text),
    respond: (rule) => void rules.push({ ...rule, times: rule.times ?? 1 }),
    reset() {
      requests.length = 0;
      violations.length = 0;
      rules.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
