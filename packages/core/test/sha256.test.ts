import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../src/sha256.ts';

describe('sha256Hex', () => {
  it('is sha256 of the UTF-8 text, as hex (the audit chain and key hashes depend on it)', () => {
    // FIPS 180-2 test vector
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    for (const text of ['', 'vk_secret', '["0000",1,"é ✓ 💸"]', 'x'.repeat(10_000)]) {
      expect(sha256Hex(text), text.slice(0, 20)).toBe(createHash('sha256').update(text, 'utf8').digest('hex'));
    }
  });
});
