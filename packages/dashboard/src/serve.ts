/**
 * Serves the dashboard under a base path (`/dashboard`). Only the static shell and its bundled
 * assets live here, and they hold no data: every key, spend figure and audit row is read by the
 * browser from `/api/…` with the admin token (kept in sessionStorage, sent as a Bearer header), so
 * without the token the page shows a login form and nothing else.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { buildDashboard, type BuiltAsset, type DashboardBundle } from './build.ts';
import { loadPrebuiltDashboard } from './prebuilt.ts';

export interface DashboardOptions {
  /** where the proxy mounts the dashboard; default `/dashboard` */
  basePath?: string;
  /** called when the bundle cannot be built (the answer is a 500 and the next request retries) */
  onBuildError?: (error: unknown) => void;
}

export interface Dashboard {
  /** answers any request whose path is the base path or below it */
  handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void>;
  /** builds the bundle now instead of on the first request */
  warm(): Promise<void>;
}

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
} as const;

const FAVICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#1d4ed8"/><path d="M11 9a5 5 0 1 0 0 10h1v6h4v-2h2v-2h-2v-2h2.5A5 5 0 1 0 11 9zm0 3a2 2 0 1 1 0 4 2 2 0 0 1 0-4z" fill="#fff"/></svg>';

function shell(base: string, bundle: DashboardBundle): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>keyleash dashboard</title>
<link rel="icon" href="${base}/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="${base}/${bundle.stylesheet.name}">
<script type="module" src="${base}/${bundle.script.name}"></script>
</head>
<body>
<div id="app"><noscript>The keyleash dashboard needs JavaScript.</noscript></div>
</body>
</html>
`;
}

function send(req: IncomingMessage, res: ServerResponse, status: number, headers: Record<string, string>, body: Buffer | string): void {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, { ...SECURITY_HEADERS, ...headers, 'content-length': String(bytes.length) });
  res.end(req.method === 'HEAD' ? undefined : bytes);
}

function sendText(req: IncomingMessage, res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  send(req, res, status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...extra }, text);
}

function sendAsset(req: IncomingMessage, res: ServerResponse, asset: BuiltAsset): void {
  // content-hashed names never change meaning, so browsers may keep them
  const headers = { 'content-type': asset.contentType, 'cache-control': 'public, max-age=31536000, immutable', etag: asset.etag, vary: 'accept-encoding' };
  if (req.headers['if-none-match'] === asset.etag) {
    res.writeHead(304, { ...SECURITY_HEADERS, ...headers });
    res.end();
    return;
  }
  const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  send(req, res, 200, gzip ? { ...headers, 'content-encoding': 'gzip' } : headers, gzip ? asset.gzip : asset.body);
}

export function createDashboard(options: DashboardOptions = {}): Dashboard {
  const base = (options.basePath ?? '/dashboard').replace(/\/+$/, '');
  let bundle: Promise<DashboardBundle> | undefined;
  const load = (): Promise<DashboardBundle> => {
    bundle ??= Promise.resolve().then(() => loadPrebuiltDashboard() ?? buildDashboard()).catch((error: unknown) => {
      bundle = undefined; // a later request tries again
      throw error;
    });
    return bundle;
  };

  return {
    async warm() {
      await load();
    },
    async handle(req, res, path) {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        return sendText(req, res, 405, 'the dashboard only answers GET; it changes things through /api/… with the admin token', { allow: 'GET, HEAD' });
      }
      if (path === `${base}/favicon.svg`) {
        return send(req, res, 200, { 'content-type': 'image/svg+xml', 'cache-control': 'public, max-age=86400' }, FAVICON);
      }
      let built: DashboardBundle;
      try {
        built = await load();
      } catch (error) {
        options.onBuildError?.(error);
        return sendText(req, res, 500, 'the dashboard could not be built; see the proxy log');
      }
      if (path === base || path === `${base}/`) {
        return send(req, res, 200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' }, shell(base, built));
      }
      for (const asset of [built.script, built.stylesheet]) {
        if (path === `${base}/${asset.name}`) return sendAsset(req, res, asset);
      }
      return sendText(req, res, 404, `no dashboard file ${path.slice(0, 100)}; open ${base}`);
    },
  };
}
