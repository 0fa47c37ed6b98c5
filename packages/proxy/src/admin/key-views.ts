import { keyStatus, microsToUsd, policyToJson, type KeySpend, type VaultKeyJson, type VaultKeyRecord } from '@keyleash/core';

/** The public JSON of a key: never its secret or hash. */
export function keyToJson(key: VaultKeyRecord, now: number, spend?: KeySpend): VaultKeyJson {
  return {
    id: key.id,
    parent_id: key.parentId,
    root_id: key.rootId,
    depth: key.depth,
    status: keyStatus(key, now),
    created_at: new Date(key.createdAt).toISOString(),
    expires_at: new Date(key.policy.expiresAt).toISOString(),
    revoked_at: key.revokedAt === null ? null : new Date(key.revokedAt).toISOString(),
    policy: policyToJson(key.policy),
    ...(spend
      ? {
          spend: {
            today_usd: microsToUsd(spend.dailyMicros),
            total_usd: microsToUsd(spend.totalMicros),
            today_micros: spend.dailyMicros,
            total_micros: spend.totalMicros,
            includes_descendants: true,
          },
        }
      : {}),
  };
}
