import { keyStatus, parseVaultKey, refusal, secretMatches, type Refusal, type Store, type VaultKeyRecord } from '@keyleash/core';
import { verifiedKeys } from './verified-keys.ts';

/**
 * On refusal, `key` is set when the presented key is genuine (its secret matched) but it or an
 * ancestor is revoked or expired, so the refusal's audit row still carries its tree (root_key_id)
 * and metadata: a run's refused calls after a cascade revoke show up in `?root_key_id=`.
 */
export type Authentication =
  /** cached: the chain came from verified-keys.ts (its revocation state may be stale; admit re-checks it) */
  | { ok: true; chain: VaultKeyRecord[]; cached: boolean }
  | { ok: false; refusal: Refusal; keyId: string | null; key?: VaultKeyRecord };

/**
 * Finds the presented vault key and its ancestors, checks the secret in constant time, and
 * refuses a key that is (or whose ancestor is) revoked or expired. The chain may come from the
 * cache of recently verified keys (verified-keys.ts): `admit` re-reads revocation and expiry
 * atomically on every request, which is what makes a revocation take effect on the next request.
 */
export async function authenticate(presented: string | undefined, store: Store, now: number): Promise<Authentication> {
  if (presented === undefined) {
    return { ok: false, keyId: null, refusal: refusal('keyleash_missing_key', 'Refused: no vault key was presented. Use the vault key keyleash issued for this agent as the API key.') };
  }
  const parts = parseVaultKey(presented);
  if (!parts) {
    return {
      ok: false,
      keyId: null,
      refusal: refusal('keyleash_unknown_key', 'Refused: the API key is not a keyleash vault key (vk_…). Agents get vault keys from keyleash, never the real vendor secret.'),
    };
  }
  const cache = verifiedKeys(store);
  let chain = cache.get(parts.id, now);
  const cached = chain !== undefined;
  if (!chain) {
    chain = await store.getKeyChain(parts.id);
    if (chain.length > 0 && !inactiveLink(chain, now)) cache.set(parts.id, chain, now);
  }
  const key = chain[0];
  if (!key || !secretMatches(parts.secret, key.secretHash)) {
    return { ok: false, keyId: key ? key.id : null, refusal: refusal('keyleash_unknown_key', `Refused: vault key vk_${parts.id}_… is not known to this keyleash. Check the key; do not retry with it.`) };
  }
  const inactive = inactiveLink(chain, now);
  if (inactive) {
    cache.forget([key.id]);
    return { ok: false, keyId: key.id, key, refusal: inactive };
  }
  return { ok: true, chain, cached };
}

/**
 * For a chain that came from the cache, before keyleash acts on the vendor for it (a pricing
 * lookup): the chain read fresh, refused if any link is now revoked or expired.
 */
export class KeyNoLongerActive extends Error {
  constructor(readonly refusal: Refusal) {
    super(refusal.message);
  }
}

export async function freshlyActive(store: Store, keyId: string, now: number): Promise<Refusal | undefined> {
  const chain = await store.getKeyChain(keyId);
  const refused = chain.length === 0 ? refusal('keyleash_unknown_key', `Refused: vault key ${keyId} no longer exists. Do not retry.`) : inactiveLink(chain, now);
  if (refused) verifiedKeys(store).forget([keyId]);
  return refused;
}

export function inactiveLink(chain: readonly VaultKeyRecord[], now: number): Refusal | undefined {
  const key = chain[0]!;
  for (const link of chain) {
    const status = keyStatus(link, now);
    if (status === 'active') continue;
    const whose = link === key ? `vault key ${key.id}` : `vault key ${key.id}'s ancestor ${link.id}`;
    if (status === 'revoked') {
      return refusal('keyleash_key_revoked', `Refused: ${whose} was revoked at ${new Date(link.revokedAt!).toISOString()}. Do not retry; ask for a new key.`, { key_id: link.id });
    }
    return refusal('keyleash_key_expired', `Refused: ${whose} expired at ${new Date(link.policy.expiresAt).toISOString()}. Do not retry; ask for a new key.`, { key_id: link.id });
  }
  return undefined;
}
