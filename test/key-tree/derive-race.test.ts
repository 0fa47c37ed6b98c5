/**
 * Deriving while the parent is being revoked, through the HTTP API of real `keyleash serve`
 * processes: two instances on one SQLite file, and two on one PostgreSQL schema. Children are
 * derived through both instances while the parent is revoked through one of them; afterwards no
 * key under the revoked parent is active, every derive was either created (and then revoked with
 * the tree) or refused with a message naming the revoked key, and no refused child exists.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminApi, startKeyleash, type KeyleashProcess } from '../support/keyleash-process.ts';
import { createTestSchema, type TestSchema } from '../postgres/pg-test-schema.ts';

const ADMIN_TOKEN = `kla_race_${Math.random().toString(36).slice(2)}`;
const CHILDREN = 40;
const ROUNDS = 4;

function describeRace(kind: string, storeUrl: () => Promise<{ url: string; drop(): Promise<void> }>) {
  describe(`${kind}: derive vs revoke`, () => {
    let instances: KeyleashProcess[] = [];
    let store: { url: string; drop(): Promise<void> } | undefined;

    beforeAll(async () => {
      store = await storeUrl();
      // one first, so the second opens an already migrated store
      instances = [await startKeyleash({ storeUrl: store.url, adminToken: ADMIN_TOKEN })];
      instances.push(await startKeyleash({ storeUrl: store.url, adminToken: ADMIN_TOKEN }));
    });
    afterAll(async () => {
      await Promise.all(instances.map((instance) => instance.stop()));
      await store?.drop();
    });

    it(`${ROUNDS} rounds of ${CHILDREN} concurrent derives through two instances while the parent is revoked: no active child of a revoked parent`, async () => {
      const api = (i: number) => adminApi(instances[i % 2]!);
      for (let round = 0; round < ROUNDS; round++) {
        const root = await api(0).issue({ vendor: 'stripe', daily_usd_cap: 10, allowed_endpoints: ['POST /v1/payment_intents'], expires_in: '1h' });
        const parent = await api(1).derive(root.vault_key, { daily_usd_cap: 5 });
        // the revocation is sent once a few derives have been answered, so it lands among the rest
        let answered = 0;
        let revoke: Promise<{ status: number }> | undefined;
        const derives = Array.from({ length: CHILDREN }, (_, i) =>
          api(i)
            .call('POST', '/api/vault_keys', { parent_vault_key: parent.vault_key, metadata: { n: String(i) } }, null)
            .then((answer) => {
              if (++answered === 4) revoke = api(round + 1).call('POST', `/api/vault_keys/${parent.id}/revoke`);
              return answer;
            }),
        );
        const answers = await Promise.all(derives);
        expect((await revoke!).status).toBe(200);

        const tree = await api(0).call('GET', `/api/vault_keys/${parent.id}/tree`);
        const keys = tree.body.data as { id: string; status: string }[];
        expect(keys.filter((key) => key.status !== 'revoked')).toEqual([]);
        const created = answers.filter((answer) => answer.status === 201).map((answer) => answer.body.id as string);
        const refused = answers.filter((answer) => answer.status !== 201);
        // every child created is in the tree (revoked with it); nothing else is
        expect(keys.map((key) => key.id).sort()).toEqual([parent.id, ...created].sort());
        for (const answer of refused) {
          expect(answer.status).toBe(403);
          expect(answer.body.error.code).toBe('parent_key_inactive');
          expect(answer.body.error.problems).toEqual(['parent_vault_key: the parent key is revoked, so it cannot derive keys']);
          expect(answer.body.error.message).toMatch(/do not retry, ask for a new key/);
        }
        // the root and its other branches are untouched
        const rootTree = await api(1).call('GET', `/api/vault_keys/${root.id}/tree`);
        expect(rootTree.body.data[0]).toMatchObject({ id: root.id, status: 'active' });
      }
    });
  });
}

describeRace('sqlite', async () => ({ url: `sqlite:${join(mkdtempSync(join(tmpdir(), 'keyleash-race-')), 'keyleash.db')}`, drop: async () => {} }));

describeRace('postgres', async () => {
  const schema: TestSchema = await createTestSchema({ prefix: 'kl_race' });
  return { url: `${schema.storeUrl}&pool_max=8`, drop: () => schema.drop() };
});
