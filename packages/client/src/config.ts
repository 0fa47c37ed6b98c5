/** Where the proxy is and which vault key to use: explicit options first, then the environment. */
export interface ProxyOptions {
  /** the keyleash base URL; default env KEYLEASH_URL, then http://127.0.0.1:8787 */
  proxyUrl?: string;
}

export interface VaultKeyOptions extends ProxyOptions {
  /** default env KEYLEASH_VAULT_KEY */
  vaultKey?: string;
}

export function resolveProxyUrl(options: ProxyOptions = {}): string {
  const url = options.proxyUrl ?? process.env.KEYLEASH_URL ?? 'http://127.0.0.1:8787';
  return url.replace(/\/+$/, '');
}

export function resolveVaultKey(options: VaultKeyOptions = {}): string {
  const key = options.vaultKey ?? process.env.KEYLEASH_VAULT_KEY;
  if (!key) throw new Error('no vault key: pass { vaultKey } or set KEYLEASH_VAULT_KEY');
  if (!key.startsWith('vk_')) throw new Error('the vault key must be a keyleash vault key (vk_…), never a real vendor secret');
  return key;
}
