import {
  DeriveKeyRequest,
  deriveChildPolicy,
  describeIssues,
  generateVaultKey,
  hashSecret,
  parentChainRefusal,
  IssueKeyRequest,
  parseVaultKey,
  policyFromIssueRequest,
  secretMatches,
  type ParentChainRefusal,
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
    const inactive = parentChainRefusal(parent.id, chain, now);
    if (inactive) throw inactiveParentError(parent.id, inactive);
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
    // checked again with the insert, atomically: a revocation may have landed since the read above
    const inserted = await this.store.insertChildKey(key, now);
    if (!inserted.ok) throw inactiveParentError(parent.id, inserted.refusal);
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

/** The parent chain cannot derive: which link, and why, in the words `deriveChildPolicy` uses. */
function inactiveParentError(parentId: string, refusal: ParentChainRefusal): ApiError {
  const who = refusal.keyId === parentId ? 'the parent key' : `its ancestor ${refusal.keyId}`;
  const problem =
    refusal.kind === 'unknown_key' ? `parent_vault_key: ${who} does not exist, so it cannot derive keys` : `parent_vault_key: ${who} is ${refusal.kind}, so it cannot derive keys`;
  return new ApiError(403, 'parent_key_inactive', `the parent key cannot derive keys (${who} is ${refusal.kind === 'unknown_key' ? 'missing' : refusal.kind}); do not retry, ask for a new key`, [problem]);
}
