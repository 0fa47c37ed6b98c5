import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { DEFAULT_FX_TABLE, DEFAULT_MAX_KEY_DEPTH, DEFAULT_OPENAI_PRICE_TABLE, DEFAULT_TWILIO_PRICE_TABLE, refusal, type FxTable, type OpenAIPriceTable, type Refusal, type Store, type TwilioPriceTable } from '@keyleash/core';
import { createDashboard } from '@keyleash/dashboard';
import pino, { type Logger } from 'pino';
import { handleAdminRequest } from './admin/router.ts';
import type { AlertConfig } from './alerts/alert-config.ts';
import { AlertSender } from './alerts/alert-sender.ts';
import { SpendAlerts } from './alerts/spend-crossings.ts';
import { recordApprovalNotice } from './alerts/approval-notice.ts';
import { ApprovalGate } from './approvals/approval-gate.ts';
import { ApprovalSweeper } from './approvals/approval-sweeper.ts';
import { KeyService } from './admin/key-service.ts';
import { ApiError, sendApiError, sendJson } from './admin/http-json.ts';
import { createMetrics } from './metrics.ts';
import { CompiledPolicies } from './pipeline/compiled-policy.ts';
import { BodyLimits, describeBytes } from './pipeline/body-limits.ts';
import { conflictingCredentials } from './pipeline/credential-headers.ts';
import { BodyTooLargeError, readBody } from './pipeline/read-body.ts';
import { framingProblem, methodOverrideParameter } from './pipeline/request-framing.ts';
import { Upstreams } from './pipeline/upstreams.ts';
import { handleVendorRequest, type PipelineDeps } from './pipeline/vendor-request.ts';
import { createVendors, vendorForUnprefixedRequest } from './vendors/registry.ts';
import type { RoutableRequest, Vendor, VendorRoute, VendorSecrets } from './vendors/vendor.ts';

export interface KeyleashOptions {
  store: Store;
  adminToken: string;
  /** real vendor host -> base URL (tests, stripe-mock); default https://<host> */
  upstreams?: ReadonlyMap<string, string>;
  /** the process environment the real secrets are read from */
  env?: Readonly<Record<string, string | undefined>>;
  fxTable?: FxTable;
  twilioPriceTable?: TwilioPriceTable;
  openaiPriceTable?: OpenAIPriceTable;
  maxKeyDepth?: number;
  upstreamTimeoutMs?: number;
  /** the largest request body read per vendor host (default 1 MiB; files.stripe.com 32 MiB) */
  bodyLimits?: BodyLimits;
  logger?: Logger;
  clock?: () => number;
  /** spend alerts: server-wide thresholds, the webhook signing secret */
  alerts?: AlertConfig;
}

export interface Keyleash {
  server: Server;
  close(): Promise<void>;
}

/** Prefixes the official SDKs use without a vendor prefix (stripe-node cannot add a base path). */
const UNPREFIXED_ROOTS = new Set(['v1', 'v2', 'oauth']);

export function createKeyleash(options: KeyleashOptions): Keyleash {
  const clock = options.clock ?? Date.now;
  const logger = options.logger ?? pino({ level: 'info' });
  const env = options.env ?? process.env;
  const fxTable = options.fxTable ?? DEFAULT_FX_TABLE;
  const twilioPriceTable = options.twilioPriceTable ?? DEFAULT_TWILIO_PRICE_TABLE;
  const openaiPriceTable = options.openaiPriceTable ?? DEFAULT_OPENAI_PRICE_TABLE;
  const vendors = createVendors({ fx: () => fxTable, twilioPrices: () => twilioPriceTable, openaiPrices: () => openaiPriceTable });
  const metrics = createMetrics();
  const upstreams = new Upstreams(options.upstreams ?? new Map(), { timeoutMs: options.upstreamTimeoutMs ?? 80_000 });
  const bodyLimits = options.bodyLimits ?? new BodyLimits();

  const secretsByVendor = new Map<string, VendorSecrets | undefined>();
  const secrets = (vendor: Vendor): VendorSecrets | undefined => {
    if (!secretsByVendor.has(vendor.name)) {
      secretsByVendor.set(vendor.name, vendor.readSecrets(env));
    }
    return secretsByVendor.get(vendor.name);
  };

  const alertSender = new AlertSender({ store: options.store.alerts, secret: options.alerts?.webhookSecret, logger, clock, retryBaseMs: options.alerts?.retryBaseMs });
  alertSender.start();
  const spendAlerts = new SpendAlerts(options.store, options.alerts?.defaults, () => alertSender.wake(), logger);
  const approvals = new ApprovalGate(options.store, clock, logger, (key, approval) =>
    recordApprovalNotice(options.store, options.alerts?.defaults, key, approval, () => alertSender.wake()),
  );
  const approvalSweeper = new ApprovalSweeper(options.store, clock, logger);
  approvalSweeper.start();
  const pipeline: PipelineDeps = { store: options.store, upstreams, policies: new CompiledPolicies(), secrets, metrics, logger, clock, spendAlerts, approvals };
  const keys = new KeyService(options.store, { maxDepth: options.maxKeyDepth ?? DEFAULT_MAX_KEY_DEPTH, clock });
  const admin = { store: options.store, keys, adminToken: options.adminToken, clock };
  const dashboard = createDashboard({ onBuildError: (error) => logger.error({ err: error }, 'the dashboard bundle could not be built') });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = req.url ?? '/';
    const queryAt = target.indexOf('?');
    const rawPath = queryAt === -1 ? target : target.slice(0, queryAt);
    const rawQuery = queryAt === -1 ? '' : target.slice(queryAt + 1);
    const firstSegment = rawPath.split('/', 2)[1] ?? '';

    if (firstSegment === 'healthz') return sendJson(res, 200, { ok: true, store: options.store.kind });
    if (firstSegment === 'metrics') {
      const text = await metrics.registry.metrics();
      res.writeHead(200, { 'content-type': metrics.registry.contentType });
      res.end(text);
      return;
    }
    if (firstSegment === 'api') {
      // the admin token or a vault key: one of them, once
      const conflict = conflictingCredentials(req.rawHeaders);
      if (conflict) return sendApiError(res, new ApiError(400, 'conflicting_credentials', conflict));
      return handleAdminRequest(req, res, new URL(target, 'http://keyleash.local'), admin);
    }
    if (firstSegment === 'dashboard') return dashboard.handle(req, res, rawPath);

    let vendor = vendors.get(firstSegment);
    let vendorPath = rawPath;
    if (vendor) {
      vendorPath = rawPath.slice(firstSegment.length + 1);
    } else if (UNPREFIXED_ROOTS.has(firstSegment)) {
      vendor = vendorForUnprefixedRequest(vendors, req.headers);
    } else {
      // A path no SDK builds (`/V1/…`, `//v1/…`, `/v1%2f…`) that presents a vault key is still an
      // agent's vendor call: the vendor pipeline refuses it in the vendor's own error shape.
      vendor = [...vendors.values()].find((candidate) => candidate.presentedVaultKey(req.headers)?.startsWith('vk_'));
    }
    if (!vendor) {
      return sendApiError(res, new ApiError(404, 'not_found', `keyleash serves /{vendor}/… (${[...vendors.keys()].join(', ')}), /v1/…, /api/…, /dashboard, /healthz and /metrics; not ${rawPath.slice(0, 100)}`));
    }
    const answerRefusal = (status: number, refused: Refusal) => {
      const rendered = vendor.renderRefusal(refused);
      res.writeHead(status, { ...rendered.headers, 'content-length': Buffer.byteLength(rendered.body) });
      res.end(rendered.body);
    };
    const conflict = conflictingCredentials(req.rawHeaders);
    if (conflict) {
      return answerRefusal(400, refusal('keyleash_conflicting_credentials', `Refused: ${conflict}. Nothing was sent to ${vendor.name}; fix the request before retrying.`));
    }
    const framing = framingProblem(req.rawHeaders);
    if (framing) {
      return answerRefusal(framing.status, refusal(framing.code, `Refused: ${framing.message}. Nothing was sent to ${vendor.name}; fix the request before retrying.`));
    }
    const inbound = { method: req.method ?? 'GET', rawPath: vendorPath, rawQuery, headers: req.headers };
    // the limit depends on the vendor host, which routing finds from the path alone; the
    // pipeline's scope stage checks this same route
    const routed = routeOf(vendor, inbound);
    const host = routed === undefined || 'code' in routed ? undefined : routed.upstreamHost;
    const limit = bodyLimits.forHost(host);
    let body: Buffer;
    try {
      body = await readBody(req, limit);
    } catch (error) {
      if (!(error instanceof BodyTooLargeError)) throw error;
      const size = error.declaredBytes !== undefined ? `is ${error.declaredBytes} bytes` : 'is larger than that';
      return answerRefusal(
        413,
        refusal(
          'keyleash_body_too_large',
          `Refused: keyleash reads request bodies of at most ${describeBytes(limit)} for ${host ?? vendor.name}, and this one ${size}. Nothing was sent to ${vendor.name}. Send a smaller body; an operator can raise the limit with \`keyleash serve --max-body ${host ?? '<host>'}=<size>\` (or KEYLEASH_MAX_BODY).`,
          { limit_bytes: limit, host: host ?? null },
        ),
      );
    }
    const override = methodOverrideParameter(req.headers['content-type'], body, rawQuery);
    if (override) {
      return answerRefusal(400, refusal('keyleash_request_override', `Refused: ${override}. Nothing was sent to ${vendor.name}; fix the request before retrying.`));
    }
    // spelled out: `{ ...inbound, body }` (a spread, then a property it lacks) is a slow path in Node 20's V8
    return handleVendorRequest(pipeline, vendor, { method: inbound.method, rawPath: inbound.rawPath, rawQuery: inbound.rawQuery, headers: inbound.headers, body }, routed, res);
  }

  /** where a request goes, from its method and path (routing never reads the body); undefined without the vendor's secrets (the pipeline refuses it) */
  function routeOf(vendor: Vendor, request: RoutableRequest): VendorRoute | Refusal | undefined {
    const vendorSecrets = secrets(vendor);
    return vendorSecrets ? vendor.route(request, vendorSecrets) : undefined;
  }

  const server = createServer({ keepAlive: true, keepAliveTimeout: 65_000 }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      logger.error({ err: error, method: req.method }, 'unhandled error');
      if (!res.headersSent) sendJson(res, 500, { error: { code: 'internal_error', message: 'keyleash hit an internal error; nothing was sent upstream if no answer was streamed' } });
      else res.destroy();
    });
  });

  return {
    server,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await alertSender.stop();
      await approvalSweeper.stop();
      await upstreams.close();
    },
  };
}
