/**
 * Key chains recently read for authentication, per store, so a busy key does not cost a read of
 * every key of its chain (and a JSON parse of each policy) on every request. What is cached is
 * only what the store returned (ids, secret hashes, policies): the presented secret is still
 * checked against the hash, in constant time, on every request, and nothing secret is kept.
 *
 * A cached chain may be stale about one thing only, revocation (everything else about a key is
 * fixed at issue; expiry is re-checked against the clock on every request). That is safe because
 * the reservation (`Store.admit`) re-reads revocation and expiry of the whole chain atomically on
 * every request, so a revoked key is refused on its next request whatever this cache holds; a
 * refusal for a revoked, expired or unknown key drops the chain from here, so the request after
 * that is refused at authentication. Before a cached key makes keyleash call the vendor to price a
 * request (a lookup), the pipeline re-reads the chain (`freshlyActive`).
 */
import type { Store, VaultKeyRecord } from '@keyleash/core';

const MAX_ENTRIES = 10_000;
const TTL_MS = 60_000;

interface Entry {
  chain: VaultKeyRecord[];
  until: number;
}

class VerifiedKeys {
  private readonly entries = new Map<string, Entry>();

  get(id: string, now: number): VaultKeyRecord[] | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    if (entry.until < now) {
      this.entries.delete(id);
      return undefined;
    }
    return entry.chain;
  }

  set(id: string, chain: VaultKeyRecord[], now: number): void {
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(id, { chain, until: now + TTL_MS });
  }

  /** forgets every cached chain that contains one of these keys */
  forget(ids: readonly string[]): void {
    const gone = new Set(ids);
    for (const [id, entry] of this.entries) if (entry.chain.some((link) => gone.has(link.id))) this.entries.delete(id);
  }
}

const byStore = new WeakMap<Store, VerifiedKeys>();

export function verifiedKeys(store: Store): VerifiedKeys {
  let cache = byStore.get(store);
  if (!cache) {
    cache = new VerifiedKeys();
    byStore.set(store, cache);
  }
  return cache;
}
