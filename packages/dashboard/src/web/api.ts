/**
 * The dashboard's only way to data: the management API, with the admin token as a Bearer header.
 * The token lives in sessionStorage (this tab only, gone when it closes), never in a URL or a cookie.
 */
import type { AlertJson, ApprovalJson, AuditRowJson, IssuedVaultKeyJson, KeySpendByDayJson, SpendReportJson, VaultKeyJson } from '@keyleash/core';

export type { KeyStatus } from '@keyleash/core';

export type KeyJson = VaultKeyJson;

export type IssuedKeyJson = IssuedVaultKeyJson;

export type AuditJson = AuditRowJson;

export type SpendJson = SpendReportJson;

export type DaySpendJson = KeySpendByDayJson;

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly problems: string[] = [],
  ) {
    super(message);
  }
}

const TOKEN_KEY = 'keyleash.admin_token';
const signedOutListeners = new Set<(reason: string) => void>();

export const session = {
  token(): string | null {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  signIn(token: string): void {
    sessionStorage.setItem(TOKEN_KEY, token);
  },
  signOut(reason = ''): void {
    sessionStorage.removeItem(TOKEN_KEY);
    for (const listener of signedOutListeners) listener(reason);
  },
  onSignedOut(listener: (reason: string) => void): () => void {
    signedOutListeners.add(listener);
    return () => signedOutListeners.delete(listener);
  },
};

async function request<T>(method: string, path: string, token: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    cache: 'no-store',
    credentials: 'omit',
  });
  let json: any = null;
  try {
    json = await response.json();
  } catch {
    // not JSON: described by the status below
  }
  if (!response.ok) {
    const error = json?.error;
    throw new ApiFailure(response.status, error?.code ?? `http_${response.status}`, error?.message ?? `the API answered HTTP ${response.status}`, Array.isArray(error?.problems) ? error.problems : []);
  }
  return json as T;
}

/** Calls the API with the session's token; a 401 ends the session (back to the login form). */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const token = session.token();
  if (!token) throw new ApiFailure(401, 'signed_out', 'sign in with the admin token');
  try {
    return await request<T>(method, path, token, body);
  } catch (error) {
    if (error instanceof ApiFailure && error.status === 401) session.signOut(`${error.message} (HTTP 401): sign in again`);
    throw error;
  }
}

/** Checks a token before keeping it: any admin read will do, the smallest is one audit row. */
export async function checkToken(token: string): Promise<void> {
  await request('GET', '/api/audit?limit=1', token);
}

export const keysApi = {
  list: () => api<{ data: KeyJson[] }>('GET', '/api/vault_keys').then((r) => r.data),
  get: (id: string) => api<KeyJson>('GET', `/api/vault_keys/${encodeURIComponent(id)}`),
  tree: (id: string) => api<{ root: string; data: KeyJson[] }>('GET', `/api/vault_keys/${encodeURIComponent(id)}/tree`).then((r) => r.data),
  spendByDay: (id: string, from: string, to: string) =>
    api<DaySpendJson>('GET', `/api/vault_keys/${encodeURIComponent(id)}/spend?from=${from}&to=${to}`),
  issue: (body: unknown) => api<IssuedKeyJson>('POST', '/api/vault_keys', body),
  revoke: (id: string) => api<{ id: string; revoked_ids: string[] }>('POST', `/api/vault_keys/${encodeURIComponent(id)}/revoke`),
};

export interface AuditQuery {
  vault_key_id?: string;
  role?: string;
  customer?: string;
  decision?: '' | 'allowed' | 'refused';
}

export function auditParams(query: AuditQuery, extra: Record<string, string | number> = {}): string {
  const params = new URLSearchParams();
  if (query.vault_key_id) params.set('vault_key_id', query.vault_key_id);
  if (query.role) params.set('metadata.role', query.role);
  if (query.customer) params.set('metadata.customer_id', query.customer);
  if (query.decision) params.set('decision', query.decision);
  for (const [name, value] of Object.entries(extra)) params.set(name, String(value));
  return params.toString();
}

export const auditApi = {
  /** newest first */
  query: (query: AuditQuery, extra: Record<string, string | number> = {}) =>
    api<{ data: AuditJson[] }>('GET', `/api/audit?${auditParams(query, extra)}`).then((r) => r.data),
};

export const spendApi = {
  grouped: (groupBy: string, from: string, to: string) =>
    api<SpendJson>('GET', `/api/spend?group_by=${encodeURIComponent(groupBy)}&from=${from}&to=${to}`),
};

export type { AlertJson, ApprovalJson };

export const approvalsApi = {
  /** every status, newest first */
  list: () => api<{ data: ApprovalJson[] }>('GET', '/api/approvals').then((r) => r.data),
  decide: (id: string, verdict: 'approve' | 'deny') => api<ApprovalJson>('POST', `/api/approvals/${encodeURIComponent(id)}/${verdict}`),
};

export const alertsApi = {
  /** newest first */
  list: () => api<{ data: AlertJson[] }>('GET', '/api/alerts').then((r) => r.data),
};
