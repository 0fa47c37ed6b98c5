import {
  DeriveKeyRequest,
  deriveChildPolicy,
  describeIssues,
  generateVaultKey,
  hashSecret,
  IssueKeyRequest,
  parseVaultKey,
  policyFromIssueRequest,
  secretMatches,
  type Store,
  type VaultKeyRecord,
} from '@keyleash/core';
import { ApiError } from './http-json.ts';

export interface IssuedKey {
  key: VaultKeyRecord;
  vaultKey: string;
}

/** Every way a key comes into existence: a root key by the admin, or a child by a key holder. */
export class KeyService {
  constructor(
    private readonly store: Store,
    private readonly options: { maxDepth: number; clock: () => number },
  ) {}

  async issueRoot(body: unknown): Promise<IssuedKey> {
    const parsed = IssueKeyRequest.safeParse(body);
    if (!parsed.success) throw new ApiError(400, 'invalid_policy', 'the key request is invalid', describeIssues(parsed.error));
    const now = this.options.clock();
    const policy = policyFromIssueRequest(parsed.data, now);
    if (policy.expiresAt <= now) throw new ApiError(400, 'invalid_policy', 'the key request is invalid', ['expires_at: is in the past']);
    const generated = generateVaultKey();
    const key: VaultKeyRecord = { id: generated.id, parentId: null, rootId: generated.id, depth: 0, secretHash: hashSecret(generated.secret), policy, createdAt: now, revokedAt: null };
    await this.store.insertKey(key);
    return { key, vaultKey: generated.vaultKey };
  }

  async deriveChild(body: unknown): Promise<IssuedKey> {
    const parsed = DeriveKeyRequest.safeParse(body);
    if (!parsed.success) throw new ApiError(400, 'invalid_policy', 'the child key request is invalid', describeIssues(parsed.error));
    const parent = await this.authenticateKey(parsed.data.parent_vault_key);
    const now = this.options.clock();
    const chain = await this.store.getKeyChain(parent.id);
    const derivation = deriveChildPolicy(chain, parsed.data, now, this.options.maxDepth);
    if (!derivation.ok) {
      throw new ApiError(403, 'child_wider_than_parent', 'the child key would not be a subset of its parent', derivation.problems);
    }
    const generated = generateVaultKey();
    const key: VaultKeyRecord = {
      id: generated.id,
      parentId: parent.id,
      rootId: parent.rootId,
      depth: parent.depth + 1,
      secretHash: hashSecret(generated.secret),
      policy: derivation.policy,
      createdAt: now,
      revokedAt: null,
    };
    await this.store.insertKey(key);
    return { key, vaultKey: generated.vaultKey };
  }

  /** a vault key presented to the management API (to derive, or to revoke itself) */
  async authenticateKey(vaultKey: string): Promise<VaultKeyRecord> {
    const parts = parseVaultKey(vaultKey);
    const key = parts ? await this.store.getKey(parts.id) : undefined;
    if (!parts || !key || !secretMatches(parts.secret, key.secretHash)) {
      throw new ApiError(401, 'unknown_vault_key', 'the vault key is not known to this keyleash');
    }
    return key;
  }
}
