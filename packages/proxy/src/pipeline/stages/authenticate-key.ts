/**
 * Stage 1, authenticate: the key and every ancestor exist, match, and are neither revoked nor
 * expired; the key covers this vendor; and this keyleash holds the vendor's real secrets.
 */
import { refusal, type EndpointPattern, type VaultKeyRecord } from '@keyleash/core';
import type { VendorSecrets } from '../../vendors/vendor.ts';
import type { CompiledPolicy } from '../compiled-policy.ts';
import { authenticate } from '../authenticate.ts';
import type { RequestContext } from './context.ts';
import { refusedFor, type Stop } from './stop.ts';

export interface Authenticated {
  chain: VaultKeyRecord[];
  key: VaultKeyRecord;
  policy: CompiledPolicy;
  /** the key's allowed endpoints at this vendor */
  allowed: EndpointPattern[];
  secrets: VendorSecrets;
  /** the chain came from the verified-key cache, so it is re-read before keyleash calls the vendor for it */
  cached: boolean;
}

export async function authenticateKey({ deps, vendor, inbound, now }: RequestContext): Promise<Authenticated | Stop> {
  let auth;
  try {
    auth = await authenticate(vendor.presentedVaultKey(inbound.headers), deps.store, now);
  } catch (error) {
    return { stop: 'store_unavailable', error };
  }
  if (!auth.ok) return { stop: 'refused', refusal: auth.refusal, key: auth.key ?? null, keyId: auth.keyId };
  const chain = auth.chain;
  const key = chain[0]!;
  const policy = deps.policies.get(key);
  const allowed = policy.allowed.get(vendor.name);
  if (!allowed) {
    const covered = [...policy.allowed.keys()].join(' + ');
    return refusedFor(key, refusal('keyleash_vendor_mismatch', `Refused: vault key ${key.id} is a ${covered} key and cannot call ${vendor.name}. Use a key that covers ${vendor.name}.`));
  }

  // the vendor's real secrets: routing may need them (Twilio puts the real account SID in paths)
  const secrets = deps.secrets(vendor);
  if (!secrets) {
    return refusedFor(key, refusal('keyleash_upstream_not_configured', `Refused: this keyleash has no ${vendor.name} secret configured (${vendor.secretEnv.join(' / ')}). An operator must set it.`));
  }
  return { chain, key, policy, allowed, secrets, cached: auth.cached };
}
