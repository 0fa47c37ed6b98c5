import type { AlertSettingsJson, ApprovalSettingsJson, AuditRowJson, IssuedVaultKeyJson, OpenAISettingsJson, ParameterRuleJson, SpendReportJson, TwilioSettingsJson, VaultKeyJson, VendorName } from '@keyleash/core';
import { resolveProxyUrl, type ProxyOptions } from './config.ts';

/** A management API answer that was not a success; `problems` names every invalid field. */
export class KeyleashApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly problems: string[] = [],
  ) {
    super(problems.length ? `${message}: ${problems.join('; ')}` : message);
    this.name = 'KeyleashApiError';
  }
}

/** The policy fields of a key request, as in the design's policy JSON. */
/** `vendor` (one) or `vendors` (several, one budget across them): the server refuses both or neither. */
export interface KeyPolicyInput extends KeyPolicyFields {
  vendor?: VendorName;
  vendors?: VendorName[];
}

/** The policy fields besides the vendor(s). */
export interface KeyPolicyFields {
  daily_usd_cap: number | null;
  total_usd_cap?: number | null;
  allowed_endpoints: string[];
  expires_in?: string;
  expires_at?: string;
  rate_limit?: { requests_per_minute: number } | null;
  metadata?: Record<string, string>;
  unpriced?: Record<string, 'free' | number>;
  stripe_accounts?: string[];
  /** Twilio keys only: default call TimeLimit and fallback prices (see the README's Pricing) */
  twilio?: TwilioSettingsJson;
  /** parameter rules (per-call maximum, currencies, pinned parameters); a child may only tighten them */
  rules?: ParameterRuleJson[];
  /** spend alerts at fractions of the daily cap; a child may change the thresholds, not the webhook */
  alerts?: AlertSettingsJson;
  /** priced calls costing more than above_usd wait for a human; a child may lower the threshold and the timeout */
  approval?: ApprovalSettingsJson;
  /** keys covering openai only: the output bound written into a capped model call that sets none */
  openai?: OpenAISettingsJson;
}

/** A child's request: every field optional (omitted = inherited from the parent). */
export type ChildPolicyInput = Partial<KeyPolicyFields> & { vendor?: VendorName; vendors?: VendorName[] };

export type VaultKeyInfo = VaultKeyJson;

export type IssuedVaultKey = IssuedVaultKeyJson;

export type AuditRow = AuditRowJson;

export interface AuditQuery {
  vaultKeyId?: string;
  rootKeyId?: string;
  metadata?: Record<string, string>;
  since?: Date | string;
  until?: Date | string;
  decision?: 'allowed' | 'refused';
  limit?: number;
}

export type SpendReport = SpendReportJson;

async function request<T>(baseUrl: string, method: string, path: string, token: string | undefined, body?: unknown): Promise<T> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const json = (await response.json().catch(() => null)) as { error?: { code: string; message: string; problems?: string[] } } | null;
  if (!response.ok) {
    throw new KeyleashApiError(response.status, json?.error?.code ?? 'http_error', json?.error?.message ?? `HTTP ${response.status}`, json?.error?.problems ?? []);
  }
  return json as T;
}

/**
 * Deriving a child needs no admin token: whoever holds a vault key may mint a narrower one.
 * Every field of `policy` left out is inherited from the parent; what is given must be a subset of
 * the parent (same vendor, caps and rate limit no higher, endpoints inside the parent's patterns,
 * expiry no later, inherited metadata unchanged, unpriced entries and connected accounts only as the
 * parent has them, depth limited). The proxy checks it (deriveChildPolicy in @keyleash/core) and
 * a refusal throws a KeyleashApiError (403) whose `problems` name every violation. The child's
 * spend counts against its own caps and every ancestor's; revoking or expiring an ancestor ends it.
 */
export async function deriveChild(parentVaultKey: string, policy: ChildPolicyInput, options: ProxyOptions = {}): Promise<IssuedVaultKey> {
  return request(resolveProxyUrl(options), 'POST', '/api/vault_keys', undefined, { ...policy, parent_vault_key: parentVaultKey });
}

/** A key holder revokes its own key and every descendant (not its parent, not its siblings). */
export async function revokeSelf(vaultKey: string, options: ProxyOptions = {}): Promise<{ id: string; revoked_ids: string[] }> {
  return request(resolveProxyUrl(options), 'DELETE', '/api/vault_keys/self', vaultKey);
}

export interface AdminClientOptions extends ProxyOptions {
  /** default env KEYLEASH_ADMIN_TOKEN */
  adminToken?: string;
}

/** The typed management API client (admin token). */
export class KeyleashAdmin {
  private readonly baseUrl: string;
  private readonly token: string;

  constructor(options: AdminClientOptions = {}) {
    this.baseUrl = resolveProxyUrl(options);
    const token = options.adminToken ?? process.env.KEYLEASH_ADMIN_TOKEN;
    if (!token) throw new Error('no admin token: pass { adminToken } or set KEYLEASH_ADMIN_TOKEN');
    this.token = token;
  }

  issueKey(policy: KeyPolicyInput): Promise<IssuedVaultKey> {
    return request(this.baseUrl, 'POST', '/api/vault_keys', this.token, policy);
  }

  deriveChild(parentVaultKey: string, policy: ChildPolicyInput): Promise<IssuedVaultKey> {
    return deriveChild(parentVaultKey, policy, { proxyUrl: this.baseUrl });
  }

  async listKeys(filter: { metadata?: Record<string, string>; vendor?: string; rootId?: string } = {}): Promise<VaultKeyInfo[]> {
    const params = new URLSearchParams();
    for (const [field, value] of Object.entries(filter.metadata ?? {})) params.append(`metadata.${field}`, value);
    if (filter.vendor) params.set('vendor', filter.vendor);
    if (filter.rootId) params.set('root_id', filter.rootId);
    return (await request<{ data: VaultKeyInfo[] }>(this.baseUrl, 'GET', `/api/vault_keys?${params}`, this.token)).data;
  }

  getKey(id: string): Promise<VaultKeyInfo> {
    return request(this.baseUrl, 'GET', `/api/vault_keys/${encodeURIComponent(id)}`, this.token);
  }

  async tree(id: string): Promise<VaultKeyInfo[]> {
    return (await request<{ data: VaultKeyInfo[] }>(this.baseUrl, 'GET', `/api/vault_keys/${encodeURIComponent(id)}/tree`, this.token)).data;
  }

  revoke(id: string): Promise<{ id: string; revoked_ids: string[] }> {
    return request(this.baseUrl, 'POST', `/api/vault_keys/${encodeURIComponent(id)}/revoke`, this.token);
  }

  async audit(query: AuditQuery = {}): Promise<AuditRow[]> {
    const params = new URLSearchParams({ limit: String(query.limit ?? 1000) });
    if (query.vaultKeyId) params.set('vault_key_id', query.vaultKeyId);
    if (query.rootKeyId) params.set('root_key_id', query.rootKeyId);
    if (query.decision) params.set('decision', query.decision);
    if (query.since) params.set('since', new Date(query.since).toISOString());
    if (query.until) params.set('until', new Date(query.until).toISOString());
    for (const [field, value] of Object.entries(query.metadata ?? {})) params.append(`metadata.${field}`, value);
    return (await request<{ data: AuditRow[] }>(this.baseUrl, 'GET', `/api/audit?${params}`, this.token)).data;
  }

  spend(query: { groupBy?: 'vault_key' | 'root' | 'vendor' | `metadata.${string}`; day?: string; from?: string; to?: string } = {}): Promise<SpendReport> {
    const params = new URLSearchParams({ group_by: query.groupBy ?? 'vault_key' });
    if (query.day) params.set('day', query.day);
    if (query.from) params.set('from', query.from);
    if (query.to) params.set('to', query.to);
    return request(this.baseUrl, 'GET', `/api/spend?${params}`, this.token);
  }
}
