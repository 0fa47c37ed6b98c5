/**
 * The management API's JSON answers, in one place: the proxy produces them, the client and the
 * dashboard read them, so the three can never drift apart.
 */
import type { PolicyJson } from './policy.ts';
import type { KeyStatus } from './vault-key-record.ts';

export interface VaultKeyJson {
  id: string;
  parent_id: string | null;
  root_id: string;
  depth: number;
  status: KeyStatus;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
  policy: PolicyJson;
  /** the key's own spend plus its descendants' (what its caps are checked against) */
  spend?: { today_usd: number; total_usd: number; today_micros: number; total_micros: number; includes_descendants: boolean };
}

export interface IssuedVaultKeyJson extends VaultKeyJson {
  /** the full key, shown only in this answer */
  vault_key: string;
}

export interface AuditRowJson {
  seq: number;
  at: string;
  vault_key_id: string | null;
  root_key_id: string | null;
  metadata: Record<string, string>;
  vendor: string;
  method: string;
  path: string;
  status: number;
  decision: 'allowed' | 'refused';
  reason: string | null;
  reserved_usd: number;
  settled_usd: number;
  reserved_micros: number;
  settled_micros: number;
  upstream_request_id: string | null;
  idempotency_key: string | null;
  latency_ms: number;
  attribution: Record<string, string>;
  hash: string;
}

export interface SpendReportJson {
  group_by: string;
  from: string;
  to: string;
  total_usd: number;
  total_micros: number;
  data: { group: string | null; usd: number; micros: number; requests: number }[];
}

export interface KeySpendByDayJson {
  id: string;
  from: string;
  to: string;
  data: { day: string; usd: number; micros: number }[];
}
