import type { Policy } from './policy.ts';

/** A vault key as the store holds it. The secret itself is never stored, only its hash. */
export interface VaultKeyRecord {
  id: string;
  parentId: string | null;
  /** The root of the key's tree: a run's total spend is one query on this. */
  rootId: string;
  /** 0 for a root key, parent's depth + 1 for a child. */
  depth: number;
  secretHash: string;
  policy: Policy;
  createdAt: number;
  revokedAt: number | null;
}

export type KeyStatus = 'active' | 'expired' | 'revoked';

export function keyStatus(key: VaultKeyRecord, now: number): KeyStatus {
  if (key.revokedAt !== null) return 'revoked';
  if (key.policy.expiresAt <= now) return 'expired';
  return 'active';
}
