/**
 * The rule a store applies, inside the transaction that inserts a child key, to the child's parent
 * chain as it reads it there: every ancestor exists and is active. Deriving checks the same earlier
 * (`deriveChildPolicy`), but only this check, made atomically with the insert, stops a child from
 * appearing under a parent that a concurrent revocation has just ended.
 */
import { keyStatus, type VaultKeyRecord } from './vault-key-record.ts';

/** Why a child was not inserted: the link of the parent chain that is missing, revoked or expired. */
export type ParentChainRefusal = { kind: 'unknown_key' | 'revoked' | 'expired'; keyId: string };

export type ChildInsertion = { ok: true } | { ok: false; refusal: ParentChainRefusal };

/**
 * @param chain the parent first, then its ancestors up to the root, as the store reads them now
 */
export function parentChainRefusal(parentId: string, chain: readonly VaultKeyRecord[], now: number): ParentChainRefusal | undefined {
  if (chain[0]?.id !== parentId) return { kind: 'unknown_key', keyId: parentId };
  for (let i = 0; i < chain.length; i++) {
    const link = chain[i]!;
    const expectedParent = chain[i + 1]?.id ?? null;
    if (link.parentId !== expectedParent) return { kind: 'unknown_key', keyId: link.parentId ?? link.id };
    const status = keyStatus(link, now);
    if (status !== 'active') return { kind: status, keyId: link.id };
  }
  return undefined;
}

/** A programming error, not a refusal: the child record does not fit under the chain it names. */
export function assertChildFits(child: VaultKeyRecord, parent: VaultKeyRecord): void {
  if (child.parentId !== parent.id || child.rootId !== parent.rootId || child.depth !== parent.depth + 1) {
    throw new Error(`child key ${child.id} does not fit under ${parent.id} (parent, root or depth differ)`);
  }
}
