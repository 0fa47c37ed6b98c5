import { randomBytes, timingSafeEqual } from 'node:crypto';
import { sha256Hex } from './sha256.ts';

/**
 * A vault key is `vk_<id>_<secret>`: lowercase base32 (a-z, 2-7), so it is safe in URLs, HTTP
 * headers and Basic-auth user names, and recognisable by its prefix. The id is public (logs,
 * audit, dashboard); only a hash of the secret is stored, and the full key is shown once.
 */
export const VAULT_KEY_PREFIX = 'vk_';
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const ID_LENGTH = 16; // 80 bits: unguessable, so ids can be shown without helping an attacker
const SECRET_LENGTH = 40; // 200 bits
const KEY_SHAPE = /^vk_([a-z2-7]{16})_([a-z2-7]{40})$/;

export interface VaultKeyParts {
  id: string;
  secret: string;
}

function randomBase32(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const byte of bytes) out += ALPHABET[byte & 31];
  return out;
}

export function generateVaultKey(): VaultKeyParts & { vaultKey: string } {
  const id = randomBase32(ID_LENGTH);
  const secret = randomBase32(SECRET_LENGTH);
  return { id, secret, vaultKey: formatVaultKey({ id, secret }) };
}

export function formatVaultKey(parts: VaultKeyParts): string {
  return `${VAULT_KEY_PREFIX}${parts.id}_${parts.secret}`;
}

export function parseVaultKey(text: string): VaultKeyParts | undefined {
  const match = KEY_SHAPE.exec(text);
  return match ? { id: match[1]!, secret: match[2]! } : undefined;
}

/** The secret is 200 random bits, so a fast hash is enough: no dictionary to defend against. */
export function hashSecret(secret: string): string {
  return sha256Hex(secret);
}

export function secretMatches(secret: string, storedHash: string): boolean {
  const presented = Buffer.from(hashSecret(secret), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}

/** For places that must mention a key without revealing it (errors, logs). */
export function redactVaultKey(text: string): string {
  return text.replace(/vk_([a-z2-7]{16})_[a-z2-7]+/g, 'vk_$1_…');
}
