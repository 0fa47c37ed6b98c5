import type { Policy } from '../src/policy.ts';
import type { VaultKeyRecord } from '../src/vault-key-record.ts';

let nextId = 0;

/** A stored key for derivation tests: a root, or a child placed under `parent` in its tree. */
export function keyRecord(policy: Policy, createdAt: number, parent?: VaultKeyRecord, overrides: Partial<VaultKeyRecord> = {}): VaultKeyRecord {
  const id = `key${nextId++}`;
  return {
    id,
    parentId: parent?.id ?? null,
    rootId: parent?.rootId ?? id,
    depth: parent ? parent.depth + 1 : 0,
    secretHash: 'unused',
    policy,
    createdAt,
    revokedAt: null,
    ...overrides,
  };
}
