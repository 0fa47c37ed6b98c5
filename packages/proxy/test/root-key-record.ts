import { generateVaultKey, hashSecret, type VaultKeyRecord } from '@keyleash/core';

/**
 * A root vault key as a store keeps it, with a fresh id and secret hash: a Stripe key, uncapped,
 * for any endpoint, alive for an hour, unless `policy` says otherwise.
 */
export function rootKeyRecord(policy: Partial<VaultKeyRecord['policy']> = {}): VaultKeyRecord {
  const generated = generateVaultKey();
  return {
    id: generated.id,
    parentId: null,
    rootId: generated.id,
    depth: 0,
    secretHash: hashSecret(generated.secret),
    policy: {
      vendor: 'stripe',
      dailyCapMicros: null,
      totalCapMicros: null,
      allowedEndpoints: ['* /**'],
      expiresAt: Date.now() + 3_600_000,
      rateLimitPerMinute: null,
      metadata: {},
      unpriced: {},
      stripeAccounts: [],
      ...policy,
    },
    createdAt: Date.now(),
    revokedAt: null,
  };
}
