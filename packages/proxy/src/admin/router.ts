/**
 * The management API (`/api/…`). The admin token opens everything; a vault key opens exactly
 * two doors: deriving a child of itself, and revoking itself with its descendants.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  microsToUsd,
  verifyAuditLog,
  policyVendors,
  utcDay,
  type AuditDecision,
  type AuditRecord,
  type AuditRowJson,
  type SpendGrouping,
  type Store,
  type VendorName,
} from '@keyleash/core';
import { ApiError, bearerToken, metadataFilter, readJsonBody, sendApiError, sendJson } from './http-json.ts';
import { listAlertsJson } from './alert-views.ts';
import { handleApprovalRoutes } from './approval-routes.ts';
import { keyToJson } from './key-views.ts';
import type { KeyService } from './key-service.ts';

export interface AdminDeps {
  store: Store;
  keys: KeyService;
  adminToken: string;
  clock: () => number;
}

function sameToken(presented: string, expected: string): boolean {
  // hash both so the comparison is constant-time whatever the lengths
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

function requireAdmin(req: IncomingMessage, deps: AdminDeps): void {
  const token = bearerToken(req);
  if (token === undefined) throw new ApiError(401, 'admin_token_required', 'this endpoint needs the admin token: Authorization: Bearer <KEYLEASH_ADMIN_TOKEN>');
  if (token.startsWith('vk_')) {
    throw new ApiError(
      403,
      'vault_key_not_admin',
      'a vault key cannot use the admin API; with a vault key you may only derive a child (POST /api/vault_keys with parent_vault_key) or revoke your own key (DELETE /api/vault_keys/self)',
    );
  }
  if (!sameToken(token, deps.adminToken)) throw new ApiError(401, 'admin_token_invalid', 'the admin token is not valid');
}

function parseInstant(name: string, value: string | null): number | undefined {
  if (value === null) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new ApiError(400, 'invalid_filter', `"${name}" must be an RFC 3339 timestamp, got "${value}"`);
  return ms;
}

function parseDay(name: string, value: string | null, fallback: string): string {
  if (value === null) return fallback;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(value))) throw new ApiError(400, 'invalid_filter', `"${name}" must be a day YYYY-MM-DD, got "${value}"`);
  return value;
}

export function auditToJson(row: AuditRecord): AuditRowJson {
  return {
    seq: row.seq,
    at: new Date(row.at).toISOString(),
    vault_key_id: row.vaultKeyId,
    root_key_id: row.rootKeyId,
    metadata: row.metadata,
    vendor: row.vendor,
    method: row.method,
    path: row.path,
    status: row.status,
    decision: row.decision,
    reason: row.reason,
    reserved_usd: microsToUsd(row.reservedMicros),
    settled_usd: microsToUsd(row.settledMicros),
    reserved_micros: row.reservedMicros,
    settled_micros: row.settledMicros,
    upstream_request_id: row.upstreamRequestId,
    idempotency_key: row.idempotencyKey,
    latency_ms: row.latencyMs,
    attribution: row.attribution,
    hash: row.hash,
  };
}

export async function handleAdminRequest(req: IncomingMessage, res: ServerResponse, url: URL, deps: AdminDeps): Promise<void> {
  try {
    await route(req, res, url, deps);
  } catch (error) {
    if (error instanceof ApiError) return sendApiError(res, error);
    throw error;
  }
}

async function route(req: IncomingMessage, res: ServerResponse, url: URL, deps: AdminDeps): Promise<void> {
  const method = req.method ?? 'GET';
  const parts = url.pathname.split('/').filter(Boolean).slice(1); // drop "api"
  const now = deps.clock();
  const { store } = deps;

  if (parts[0] === 'vault_keys') {
    // POST /api/vault_keys: a root key (admin) or a child key (parent_vault_key, no admin token)
    if (parts.length === 1 && method === 'POST') {
      const body = await readJsonBody(req);
      const isDerive = typeof body === 'object' && body !== null && 'parent_vault_key' in body;
      if (!isDerive) requireAdmin(req, deps);
      const issued = isDerive ? await deps.keys.deriveChild(body) : await deps.keys.issueRoot(body);
      return sendJson(res, 201, { ...keyToJson(issued.key, now), vault_key: issued.vaultKey });
    }
    // DELETE /api/vault_keys/self: a key holder revokes its own key and all its descendants (never an
    // ancestor or a sibling: only the admin reaches another key). Like the admin's
    // POST /api/vault_keys/{id}/revoke, it answers { id, revoked_ids }: every key this call revoked,
    // the key first, then its descendants; keys already revoked are not repeated.
    if (parts.length === 2 && parts[1] === 'self' && method === 'DELETE') {
      const presented = bearerToken(req);
      if (!presented?.startsWith('vk_')) throw new ApiError(401, 'vault_key_required', 'present the vault key to revoke as Authorization: Bearer vk_…');
      const key = await deps.keys.authenticateKey(presented);
      const revoked = await store.revokeTree(key.id, now);
      return sendJson(res, 200, { id: key.id, revoked_ids: revoked });
    }
    requireAdmin(req, deps);
    if (parts.length === 1 && method === 'GET') {
      const vendor = url.searchParams.get('vendor') ?? undefined;
      const rootId = url.searchParams.get('root_id') ?? undefined;
      // a key covering several vendors is listed under each of them
      const keys = (await store.listKeys({ metadata: metadataFilter(url.searchParams), ...(rootId ? { rootId } : {}) })).filter(
        (key) => vendor === undefined || policyVendors(key.policy).includes(vendor as VendorName),
      );
      const spend = await store.keySpend(keys.map((k) => k.id), utcDay(now));
      return sendJson(res, 200, { data: keys.map((key) => keyToJson(key, now, spend.get(key.id))) });
    }
    const id = parts[1]!;
    const key = await store.getKey(id);
    if (!key) throw new ApiError(404, 'key_not_found', `no vault key with id ${id}`);
    if (parts.length === 2 && method === 'GET') {
      const spend = await store.keySpend([id], utcDay(now));
      return sendJson(res, 200, keyToJson(key, now, spend.get(id)));
    }
    if (parts.length === 3 && parts[2] === 'revoke' && method === 'POST') {
      const revoked = await store.revokeTree(id, now);
      return sendJson(res, 200, { id, revoked_ids: revoked });
    }
    if (parts.length === 3 && parts[2] === 'tree' && method === 'GET') {
      const subtree = await store.listSubtree(id);
      const spend = await store.keySpend(subtree.map((k) => k.id), utcDay(now));
      return sendJson(res, 200, { root: id, data: subtree.map((k) => keyToJson(k, now, spend.get(k.id))) });
    }
    if (parts.length === 3 && parts[2] === 'spend' && method === 'GET') {
      const to = parseDay('to', url.searchParams.get('to'), utcDay(now));
      const from = parseDay('from', url.searchParams.get('from'), utcDay(Date.parse(to) - 29 * 86_400_000));
      const days = await store.spendByDay(id, from, to);
      return sendJson(res, 200, { id, from, to, data: days.map((d) => ({ day: d.day, usd: microsToUsd(d.micros), micros: d.micros })) });
    }
  }

  if (parts[0] === 'audit' && method === 'GET') {
    requireAdmin(req, deps);
    if (parts[1] === 'verify') {
      const result = await verifyAuditLog(store);
      return sendJson(res, result.ok ? 200 : 409, result);
    }
    const decision = url.searchParams.get('decision');
    if (decision !== null && decision !== 'allowed' && decision !== 'refused') throw new ApiError(400, 'invalid_filter', '"decision" is allowed or refused');
    const limit = Number(url.searchParams.get('limit') ?? 100);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new ApiError(400, 'invalid_filter', '"limit" is a whole number from 1 to 10000');
    const afterSeq = url.searchParams.get('after_seq');
    const rows = await store.queryAudit({
      metadata: metadataFilter(url.searchParams),
      ...(url.searchParams.get('vault_key_id') ? { vaultKeyId: url.searchParams.get('vault_key_id')! } : {}),
      ...(url.searchParams.get('root_key_id') ? { rootKeyId: url.searchParams.get('root_key_id')! } : {}),
      ...(decision ? { decision: decision as AuditDecision } : {}),
      since: parseInstant('since', url.searchParams.get('since')),
      until: parseInstant('until', url.searchParams.get('until')),
      ...(afterSeq !== null ? { afterSeq: Number(afterSeq) } : {}),
      limit,
    });
    return sendJson(res, 200, { data: rows.map(auditToJson) });
  }

  if (parts[0] === 'spend' && parts.length === 1 && method === 'GET') {
    requireAdmin(req, deps);
    const groupBy = parseGrouping(url.searchParams.get('group_by') ?? 'vault_key');
    const day = url.searchParams.get('day');
    const from = parseDay('from', url.searchParams.get('from') ?? day, utcDay(now));
    const to = parseDay('to', url.searchParams.get('to') ?? day, from);
    const rows = await store.spend({ groupBy, fromDay: from, toDay: to });
    const total = rows.reduce((sum, row) => sum + row.micros, 0);
    return sendJson(res, 200, {
      group_by: url.searchParams.get('group_by') ?? 'vault_key',
      from,
      to,
      total_usd: microsToUsd(total),
      total_micros: total,
      data: rows.map((row) => ({ group: row.group, usd: microsToUsd(row.micros), micros: row.micros, requests: row.requests })),
    });
  }

  if (parts[0] === 'alerts' && parts.length === 1 && method === 'GET') {
    requireAdmin(req, deps);
    return sendJson(res, 200, await listAlertsJson(store, url.searchParams));
  }

  if (parts[0] === 'approvals') {
    requireAdmin(req, deps);
    if (await handleApprovalRoutes(req, res, parts, url, store, now)) return;
  }

  throw new ApiError(404, 'not_found', `no management endpoint ${method} ${url.pathname}`);
}

function parseGrouping(text: string): SpendGrouping {
  if (text === 'vault_key' || text === 'root' || text === 'vendor' || text === 'request_vendor') return { by: text };
  if (text.startsWith('metadata.') && /^[A-Za-z0-9_.-]{1,64}$/.test(text.slice(9))) return { by: 'metadata', field: text.slice(9) };
  throw new ApiError(400, 'invalid_group_by', `group_by is vault_key, root, vendor, request_vendor or metadata.<field>, got "${text}"`);
}
