/**
 * The store conformance suite: what every `Store` must do, run against SQLite and PostgreSQL
 * alike (sqlite.test.ts, postgres.test.ts). Keys and trees, admission (caps, rate limits,
 * revoked/expired ancestors, idempotency, concurrency), settlement, the hash-chained audit,
 * and spend queries. Each `describe` gets a fresh store from the factory.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeAlertStoreConformance } from './alert-store-conformance.ts';
import { describeApprovalStoreConformance } from './approval-store-conformance.ts';
import {
  auditHash,
  checkAdmission,
  rateWindowStart,
  type ChainLinkState,
  GENESIS_HASH,
  generateVaultKey,
  hashSecret,
  OUTCOME_UNKNOWN_REASON,
  utcDay,
  verifyAuditLog,
  type Admission,
  type AdmissionRefusal,
  type AuditEntry,
  type AuditRecord,
  type SettlementKind,
  type Store,
  type VaultKeyRecord,
} from '@keyleash/core';

export interface StoreUnderTest {
  store: Store;
  /** another Store on the same backing database, as a second keyleash instance would open it */
  openPeer(): Promise<Store>;
  /** rewrites one audit row behind the store's back (bypassing its append-only guard) */
  tamperAudit(seq: number): Promise<void>;
  /** an UPDATE of an audit row through the database, as a bug would do it: must be refused */
  attemptAuditRewrite(seq: number): Promise<void>;
  /** closes the store and its peers and removes the database / schema */
  close(): Promise<void>;
}

export type MakeStore = () => Promise<StoreUnderTest>;

const USD = 1_000_000;
const DAY_MS = 86_400_000;
/** a fixed midday, so "today" and "tomorrow" are unambiguous */
const NOW = Date.UTC(2030, 0, 15, 12, 0, 0);
const TODAY = utcDay(NOW);
const FAR_FUTURE = Date.UTC(2040, 0, 1);

let createdClock = NOW - 1_000_000;

interface KeyOptions {
  parent?: VaultKeyRecord;
  daily?: number | null;
  total?: number | null;
  rate?: number | null;
  expiresAt?: number;
  metadata?: Record<string, string>;
  vendor?: 'stripe' | 'twilio';
}

function makeKey(options: KeyOptions = {}): VaultKeyRecord {
  const generated = generateVaultKey();
  const parent = options.parent;
  return {
    id: generated.id,
    parentId: parent?.id ?? null,
    rootId: parent?.rootId ?? generated.id,
    depth: parent ? parent.depth + 1 : 0,
    secretHash: hashSecret(generated.secret),
    policy: {
      vendor: options.vendor ?? parent?.policy.vendor ?? 'stripe',
      dailyCapMicros: options.daily === undefined ? null : options.daily,
      totalCapMicros: options.total === undefined ? null : options.total,
      allowedEndpoints: ['POST /v1/payment_intents', 'GET /v1/*'],
      expiresAt: options.expiresAt ?? FAR_FUTURE,
      rateLimitPerMinute: options.rate ?? null,
      metadata: options.metadata ?? parent?.policy.metadata ?? {},
      unpriced: { 'POST /v1/customers': 'free', 'POST /v1/invoices': 250_000 },
      stripeAccounts: [],
    },
    createdAt: (createdClock += 1000),
    revokedAt: null,
  };
}

async function insert(store: Store, ...keys: VaultKeyRecord[]): Promise<void> {
  for (const key of keys) await store.insertKey(key);
}

/** the chain the proxy passes to admit: the key first, then up to the root */
function chainOf(...keys: VaultKeyRecord[]): string[] {
  return keys.map((k) => k.id);
}

function entry(overrides: Partial<AuditEntry> = {}): AuditEntry {
  return {
    at: NOW,
    vaultKeyId: null,
    rootKeyId: null,
    metadata: {},
    vendor: 'stripe',
    method: 'POST',
    path: '/v1/payment_intents',
    status: 200,
    decision: 'allowed',
    reason: null,
    reservedMicros: 0,
    settledMicros: 0,
    upstreamRequestId: 'req_test',
    idempotencyKey: null,
    latencyMs: 12,
    attribution: {},
    ...overrides,
  };
}

function ok(admission: Admission): Extract<Admission, { ok: true }> {
  if (!admission.ok) throw new Error(`expected an admission, got ${JSON.stringify(admission.refusal)}`);
  return admission;
}

async function spendOf(store: Store, key: VaultKeyRecord, day = TODAY) {
  return (await store.keySpend([key.id], day)).get(key.id)!;
}

/** every row of every chain, read chain by chain in small pages as `keyleash audit verify` reads them, in seq order */
async function wholeChain(store: Store, pageSize = 7): Promise<AuditRecord[]> {
  const rows: AuditRecord[] = [];
  for (const chainId of await store.auditChainIds()) {
    let after = 0;
    for (;;) {
      const page = await store.auditChain(chainId, after, pageSize);
      // within a chain, seq ascends in chain order
      for (const [k, row] of page.entries()) expect(row.seq).toBeGreaterThan(k === 0 ? after : page[k - 1]!.seq);
      rows.push(...page);
      if (page.length < pageSize) break;
      after = page[page.length - 1]!.seq;
    }
  }
  return rows.sort((a, b) => a.seq - b.seq);
}

async function expectChainIntact(store: Store): Promise<AuditRecord[]> {
  const rows = await wholeChain(store);
  expect(await verifyAuditLog(store, 7)).toEqual({ ok: true, rows: rows.length, chains: (await store.auditChainIds()).length });
  // every row in exactly one chain, under its own seq
  expect(new Set(rows.map((r) => r.seq)).size).toBe(rows.length);
  return rows;
}

function shuffled<T>(items: T[], seed = 42): T[] {
  const out = [...items];
  let state = seed;
  const random = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** a fresh store for one describe block */
export function useStore(makeStore: MakeStore) {
  let handle: StoreUnderTest | undefined;
  const peers: Store[] = [];
  beforeAll(async () => {
    handle = await makeStore();
  });
  afterAll(async () => {
    await handle?.close();
  });
  return {
    get store(): Store {
      if (!handle) throw new Error('store not opened');
      return handle.store;
    },
    get handle(): StoreUnderTest {
      if (!handle) throw new Error('store not opened');
      return handle;
    },
    async peer(): Promise<Store> {
      return (await this.instances(2))[1]!;
    },
    /** the store and n - 1 peers on the same database: several keyleash instances */
    async instances(n: number): Promise<Store[]> {
      while (peers.length < n - 1) peers.push(await this.handle.openPeer());
      return [this.store, ...peers.slice(0, n - 1)];
    },
  };
}

export function describeStoreConformance(name: string, makeStore: MakeStore): void {
  describe(`${name} store conformance`, () => {
    describeAlertStoreConformance(useStore(makeStore));
    describeApprovalStoreConformance(useStore(makeStore));

    describe('keys and trees', () => {
      const ctx = useStore(makeStore);

      it('migrate() is idempotent', async () => {
        await ctx.store.migrate();
        await ctx.store.migrate();
      });

      it('stores a key exactly as given and finds it by id', async () => {
        const key = makeKey({ daily: 12_345_678, total: 99 * USD, rate: 30, metadata: { team: 'billing', 'run.id': 'r-1', note: 'ünïcødé "quoted"' } });
        await ctx.store.insertKey(key);
        expect(await ctx.store.getKey(key.id)).toEqual(key);
        expect(await ctx.store.getKey('nosuchkeyxxxxxxx')).toBeUndefined();
      });

      it('refuses a second key with the same id', async () => {
        const key = makeKey();
        await ctx.store.insertKey(key);
        await expect(ctx.store.insertKey({ ...key, createdAt: key.createdAt + 1 })).rejects.toThrow();
      });

      it('returns the chain from the key up to its root, and nothing for an unknown key', async () => {
        const root = makeKey();
        const mid = makeKey({ parent: root });
        const leaf = makeKey({ parent: mid });
        await insert(ctx.store, root, mid, leaf);
        expect(await ctx.store.getKeyChain(leaf.id)).toEqual([leaf, mid, root]);
        expect(await ctx.store.getKeyChain(root.id)).toEqual([root]);
        expect(await ctx.store.getKeyChain('nosuchkeyxxxxxxx')).toEqual([]);
      });

      it('lists keys by root, vendor and metadata, oldest first', async () => {
        const tag = `t${Math.random().toString(36).slice(2, 8)}`;
        const root = makeKey({ metadata: { tag, team: 'a' } });
        const child = makeKey({ parent: root, metadata: { tag, team: 'b' } });
        const other = makeKey({ vendor: 'twilio', metadata: { tag, team: 'a' } });
        await insert(ctx.store, root, child, other);
        expect((await ctx.store.listKeys({ rootId: root.id })).map((k) => k.id)).toEqual([root.id, child.id]);
        expect((await ctx.store.listKeys({ metadata: { tag } })).map((k) => k.id)).toEqual([root.id, child.id, other.id]);
        expect((await ctx.store.listKeys({ metadata: { tag, team: 'a' } })).map((k) => k.id)).toEqual([root.id, other.id]);
        expect((await ctx.store.listKeys({ metadata: { tag }, vendor: 'twilio' })).map((k) => k.id)).toEqual([other.id]);
        expect(await ctx.store.listKeys({ metadata: { tag, team: 'zzz' } })).toEqual([]);
        const all = await ctx.store.listKeys();
        expect(all.map((k) => k.id)).toEqual(expect.arrayContaining([root.id, child.id, other.id]));
      });

      it('lists a subtree: the key and every descendant, shallowest first, nothing else', async () => {
        const root = makeKey();
        const a = makeKey({ parent: root });
        const b = makeKey({ parent: root });
        const a1 = makeKey({ parent: a });
        const a2 = makeKey({ parent: a });
        const a1x = makeKey({ parent: a1 });
        await insert(ctx.store, root, a, b, a1, a2, a1x);
        const subtree = await ctx.store.listSubtree(a.id);
        expect(subtree.map((k) => k.id).sort()).toEqual([a.id, a1.id, a2.id, a1x.id].sort());
        expect(subtree[0]!.id).toBe(a.id);
        expect(subtree.map((k) => k.depth)).toEqual([...subtree.map((k) => k.depth)].sort((x, y) => x - y));
        expect((await ctx.store.listSubtree(root.id)).length).toBe(6);
        expect(await ctx.store.listSubtree('nosuchkeyxxxxxxx')).toEqual([]);
      });

      it('revokes a key and all its descendants at once, and only them', async () => {
        const root = makeKey();
        const a = makeKey({ parent: root });
        const b = makeKey({ parent: root });
        const a1 = makeKey({ parent: a });
        const a1x = makeKey({ parent: a1 });
        await insert(ctx.store, root, a, b, a1, a1x);
        // a1x revoked first: not "newly revoked" by the tree revocation, and keeps its instant
        expect(await ctx.store.revokeTree(a1x.id, NOW - 5)).toEqual([a1x.id]);
        const revoked = await ctx.store.revokeTree(a.id, NOW);
        expect([...revoked].sort()).toEqual([a.id, a1.id].sort());
        expect((await ctx.store.getKey(a.id))!.revokedAt).toBe(NOW);
        expect((await ctx.store.getKey(a1.id))!.revokedAt).toBe(NOW);
        expect((await ctx.store.getKey(a1x.id))!.revokedAt).toBe(NOW - 5);
        expect((await ctx.store.getKey(root.id))!.revokedAt).toBeNull();
        expect((await ctx.store.getKey(b.id))!.revokedAt).toBeNull();
        expect(await ctx.store.revokeTree(a.id, NOW + 1)).toEqual([]);
        expect(await ctx.store.revokeTree('nosuchkeyxxxxxxx', NOW)).toEqual([]);
      });
    });

    describe('child insertion (atomic derivation)', () => {
      const ctx = useStore(makeStore);

      it('inserts a child under an active chain, and refuses one under a missing, revoked or expired link, inserting nothing', async () => {
        const root = makeKey();
        const mid = makeKey({ parent: root });
        await insert(ctx.store, root, mid);
        const child = makeKey({ parent: mid });
        expect(await ctx.store.insertChildKey(child, NOW)).toEqual({ ok: true });
        expect(await ctx.store.getKey(child.id)).toEqual(child);

        const orphan = makeKey({ parent: makeKey() });
        expect(await ctx.store.insertChildKey(orphan, NOW)).toEqual({ ok: false, refusal: { kind: 'unknown_key', keyId: orphan.parentId } });

        const expiring = makeKey({ parent: root, expiresAt: NOW });
        await insert(ctx.store, expiring);
        const underExpired = makeKey({ parent: expiring });
        // the expiry instant itself is expired, as in admission
        expect(await ctx.store.insertChildKey(underExpired, NOW)).toEqual({ ok: false, refusal: { kind: 'expired', keyId: expiring.id } });
        expect(await ctx.store.insertChildKey(underExpired, NOW - 1)).toEqual({ ok: true });

        await ctx.store.revokeTree(root.id, NOW);
        for (const parent of [mid, child]) {
          const late = makeKey({ parent });
          expect(await ctx.store.insertChildKey(late, NOW)).toEqual({ ok: false, refusal: { kind: 'revoked', keyId: parent.id } });
          expect(await ctx.store.getKey(late.id)).toBeUndefined();
        }
      });

      it('refuses a child record that does not fit its parent (root or depth), as a programming error', async () => {
        const root = makeKey();
        await insert(ctx.store, root);
        const child = makeKey({ parent: root });
        await expect(ctx.store.insertChildKey({ ...child, depth: 5 }, NOW)).rejects.toThrow(/does not fit/);
        await expect(ctx.store.insertChildKey({ ...child, rootId: child.id }, NOW)).rejects.toThrow(/does not fit/);
        expect(await ctx.store.getKey(child.id)).toBeUndefined();
      });

      it('leaves no active child under a revoked key when revocations race derivations on four instances', async () => {
        const stores = await ctx.instances(4);
        for (let round = 0; round < 6; round++) {
          const root = makeKey();
          const parent = makeKey({ parent: root });
          const siblings = [makeKey({ parent: root }), makeKey({ parent: root })];
          await insert(ctx.store, root, parent, ...siblings);
          // children of the parent and grandchildren under a sibling, while the parent (odd rounds:
          // the whole tree from the root) is revoked from another instance half-way through
          const under = [parent, ...siblings];
          const children = Array.from({ length: 48 }, (_, i) => makeKey({ parent: under[i % 3]! }));
          const revoked = round % 2 ? root : parent;
          const work: Promise<unknown>[] = children.map((child, i) => stores[i % 4]!.insertChildKey(child, NOW).then((result) => ({ child, result })));
          work.splice(24, 0, stores[(round + 1) % 4]!.revokeTree(revoked.id, NOW));
          const settled = await Promise.all(work);
          const results = settled.filter((x): x is { child: VaultKeyRecord; result: Awaited<ReturnType<Store['insertChildKey']>> } => typeof x === 'object' && x !== null && 'child' in x);
          for (const { child, result } of results) {
            const stored = await ctx.store.getKey(child.id);
            if (result.ok) expect(stored).toBeDefined();
            else {
              expect(result.refusal.kind).toBe('revoked');
              expect(stored).toBeUndefined();
            }
          }
          // the invariant: under the revoked key, every key that exists is revoked
          const subtree = await ctx.store.listSubtree(revoked.id);
          expect(subtree.filter((key) => key.revokedAt === null).map((key) => key.id)).toEqual([]);
          // and nothing was lost outside it
          if (revoked === parent) expect((await ctx.store.listSubtree(siblings[0]!.id)).every((key) => key.revokedAt === null)).toBe(true);
        }
      });
    });

    describe('admission', () => {
      const ctx = useStore(makeStore);

      it('refuses a chain with an unknown key, naming it, and reserves nothing', async () => {
        const root = makeKey({ daily: 10 * USD });
        await insert(ctx.store, root);
        const result = await ctx.store.admit({ keyChain: ['nosuchkeyxxxxxxx', root.id], amountMicros: USD, now: NOW });
        expect(result).toEqual({ ok: false, refusal: { kind: 'unknown_key', keyId: 'nosuchkeyxxxxxxx' } });
        expect(await spendOf(ctx.store, root)).toEqual({ dailyMicros: 0, totalMicros: 0 });
      });

      it('reserves the amount against every key of the chain', async () => {
        const root = makeKey({ daily: 100 * USD });
        const mid = makeKey({ parent: root });
        const leaf = makeKey({ parent: mid });
        const sibling = makeKey({ parent: mid });
        await insert(ctx.store, root, mid, leaf, sibling);
        const admission = ok(await ctx.store.admit({ keyChain: chainOf(leaf, mid, root), amountMicros: 2_500_000, now: NOW }));
        expect(admission).toMatchObject({ reservedMicros: 2_500_000, idempotentReplay: false });
        expect(typeof admission.reservationId).toBe('string');
        for (const key of [leaf, mid, root]) expect(await spendOf(ctx.store, key)).toEqual({ dailyMicros: 2_500_000, totalMicros: 2_500_000 });
        expect(await spendOf(ctx.store, sibling)).toEqual({ dailyMicros: 0, totalMicros: 0 });
        const spend = await ctx.store.keySpend([leaf.id, root.id, 'nosuchkeyxxxxxxx'], TODAY);
        expect(spend.get(root.id)).toEqual({ dailyMicros: 2_500_000, totalMicros: 2_500_000 });
        expect(spend.get('nosuchkeyxxxxxxx')).toEqual({ dailyMicros: 0, totalMicros: 0 });
        expect(await ctx.store.spendByDay(root.id, TODAY, TODAY)).toEqual([{ day: TODAY, micros: 2_500_000 }]);
      });

      it('admits up to the daily cap exactly, then refuses with the numbers, and counts per UTC day', async () => {
        const key = makeKey({ daily: 10 * USD });
        await insert(ctx.store, key);
        ok(await ctx.store.admit({ keyChain: [key.id], amountMicros: 6 * USD, now: NOW }));
        ok(await ctx.store.admit({ keyChain: [key.id], amountMicros: 4 * USD, now: NOW }));
        expect(await ctx.store.admit({ keyChain: [key.id], amountMicros: 1, now: NOW })).toEqual({
          ok: false,
          refusal: { kind: 'daily_cap', keyId: key.id, capMicros: 10 * USD, spentMicros: 10 * USD, requestedMicros: 1 },
        });
        // the next UTC day starts at zero, while the total keeps counting
        const tomorrow = NOW + DAY_MS;
        ok(await ctx.store.admit({ keyChain: [key.id], amountMicros: 10 * USD, now: tomorrow }));
        expect(await spendOf(ctx.store, key, utcDay(tomorrow))).toEqual({ dailyMicros: 10 * USD, totalMicros: 20 * USD });
        expect(await ctx.store.spendByDay(key.id, TODAY, utcDay(tomorrow))).toEqual([
          { day: TODAY, micros: 10 * USD },
          { day: utcDay(tomorrow), micros: 10 * USD },
        ]);
      });

      it('refuses at an ancestor cap, naming the ancestor, and reserves nothing anywhere', async () => {
        const root = makeKey({ daily: 5 * USD });
        const leaf = makeKey({ parent: root, daily: 5 * USD });
        const other = makeKey({ parent: root, daily: 5 * USD });
        await insert(ctx.store, root, leaf, other);
        ok(await ctx.store.admit({ keyChain: chainOf(other, root), amountMicros: 3 * USD, now: NOW }));
        const refused = await ctx.store.admit({ keyChain: chainOf(leaf, root), amountMicros: 3 * USD, now: NOW });
        expect(refused).toEqual({ ok: false, refusal: { kind: 'daily_cap', keyId: root.id, capMicros: 5 * USD, spentMicros: 3 * USD, requestedMicros: 3 * USD } });
        expect(await spendOf(ctx.store, leaf)).toEqual({ dailyMicros: 0, totalMicros: 0 });
        expect(await spendOf(ctx.store, root)).toEqual({ dailyMicros: 3 * USD, totalMicros: 3 * USD });
      });

      it('enforces the total cap across days', async () => {
        const key = makeKey({ total: 7 * USD });
        await insert(ctx.store, key);
        ok(await ctx.store.admit({ keyChain: [key.id], amountMicros: 4 * USD, now: NOW - 3 * DAY_MS }));
        ok(await ctx.store.admit({ keyChain: [key.id], amountMicros: 3 * USD, now: NOW }));
        expect(await ctx.store.admit({ keyChain: [key.id], amountMicros: 1, now: NOW + DAY_MS })).toEqual({
          ok: false,
          refusal: { kind: 'total_cap', keyId: key.id, capMicros: 7 * USD, spentMicros: 7 * USD, requestedMicros: 1 },
        });
      });

      it('rate-limits per fixed minute, on every key of the chain, and counts only admitted requests', async () => {
        const root = makeKey({ rate: 3 });
        const a = makeKey({ parent: root });
        const b = makeKey({ parent: root });
        await insert(ctx.store, root, a, b);
        const minute = Math.floor(NOW / 60_000) * 60_000;
        ok(await ctx.store.admit({ keyChain: chainOf(a, root), amountMicros: 0, now: minute + 1 }));
        ok(await ctx.store.admit({ keyChain: chainOf(b, root), amountMicros: 0, now: minute + 2 }));
        ok(await ctx.store.admit({ keyChain: chainOf(a, root), amountMicros: USD, now: minute + 3 }));
        const limited = { ok: false, refusal: { kind: 'rate_limited', keyId: root.id, limitPerMinute: 3 } };
        expect(await ctx.store.admit({ keyChain: chainOf(b, root), amountMicros: 0, now: minute + 59_999 })).toEqual(limited);
        expect(await ctx.store.admit({ keyChain: chainOf(a, root), amountMicros: 0, now: minute + 59_999 })).toEqual(limited);
        ok(await ctx.store.admit({ keyChain: chainOf(b, root), amountMicros: 0, now: minute + 60_000 }));
        // a refusal for money does not use up the window either
        const capped = makeKey({ rate: 1, daily: 1 });
        await insert(ctx.store, capped);
        expect((await ctx.store.admit({ keyChain: [capped.id], amountMicros: 2, now: NOW })).ok).toBe(false);
        ok(await ctx.store.admit({ keyChain: [capped.id], amountMicros: 1, now: NOW }));
      });

      it('refuses a revoked key or a key under a revoked ancestor, naming the revoked one', async () => {
        const root = makeKey();
        const mid = makeKey({ parent: root });
        const leaf = makeKey({ parent: mid });
        await insert(ctx.store, root, mid, leaf);
        ok(await ctx.store.admit({ keyChain: chainOf(leaf, mid, root), amountMicros: USD, now: NOW }));
        await ctx.store.revokeTree(mid.id, NOW);
        expect(await ctx.store.admit({ keyChain: chainOf(leaf, mid, root), amountMicros: 0, now: NOW })).toEqual({ ok: false, refusal: { kind: 'revoked', keyId: leaf.id } });
        const root2 = makeKey();
        const leaf2 = makeKey({ parent: root2 });
        await insert(ctx.store, root2, leaf2);
        // revoke the root's row alone (as if the child had been derived after the revocation)
        await ctx.store.revokeTree(root2.id, NOW);
        const child3 = makeKey({ parent: root2 });
        await insert(ctx.store, child3);
        expect(await ctx.store.admit({ keyChain: chainOf(child3, root2), amountMicros: 0, now: NOW })).toEqual({ ok: false, refusal: { kind: 'revoked', keyId: root2.id } });
      });

      it('refuses an expired key or ancestor (expiry instant included)', async () => {
        const root = makeKey({ expiresAt: NOW });
        const leaf = makeKey({ parent: root, expiresAt: NOW + DAY_MS });
        await insert(ctx.store, root, leaf);
        ok(await ctx.store.admit({ keyChain: chainOf(leaf, root), amountMicros: USD, now: NOW - 1 }));
        expect(await ctx.store.admit({ keyChain: chainOf(leaf, root), amountMicros: 0, now: NOW })).toEqual({ ok: false, refusal: { kind: 'expired', keyId: root.id } });
      });

      it('admits a zero-cost request at a reached cap', async () => {
        const key = makeKey({ daily: USD });
        await insert(ctx.store, key);
        ok(await ctx.store.admit({ keyChain: [key.id], amountMicros: USD, now: NOW }));
        expect(ok(await ctx.store.admit({ keyChain: [key.id], amountMicros: 0, now: NOW })).reservedMicros).toBe(0);
        expect((await ctx.store.admit({ keyChain: [key.id], amountMicros: 1, now: NOW })).ok).toBe(false);
      });

      it('replays a repeated idempotency key of the same key at zero cost, even at the cap', async () => {
        const root = makeKey({ daily: 10 * USD });
        const leaf = makeKey({ parent: root });
        const other = makeKey({ parent: root });
        await insert(ctx.store, root, leaf, other);
        const first = ok(await ctx.store.admit({ keyChain: chainOf(leaf, root), amountMicros: 10 * USD, now: NOW, idempotencyKey: 'idem-1' }));
        expect(first).toMatchObject({ reservedMicros: 10 * USD, idempotentReplay: false });
        const again = ok(await ctx.store.admit({ keyChain: chainOf(leaf, root), amountMicros: 10 * USD, now: NOW, idempotencyKey: 'idem-1' }));
        expect(again).toMatchObject({ reservedMicros: 0, idempotentReplay: true });
        expect(again.reservationId).not.toBe(first.reservationId);
        expect(await spendOf(ctx.store, root)).toEqual({ dailyMicros: 10 * USD, totalMicros: 10 * USD });
        // the same idempotency key under another vault key is a new request (and here over the cap)
        expect((await ctx.store.admit({ keyChain: chainOf(other, root), amountMicros: USD, now: NOW, idempotencyKey: 'idem-1' })).ok).toBe(false);
        // a new idempotency key is a new request
        expect((await ctx.store.admit({ keyChain: chainOf(leaf, root), amountMicros: USD, now: NOW, idempotencyKey: 'idem-2' })).ok).toBe(false);
      });

      it('a repeat pays only what exceeds what its first use counts (held, or settled lower)', async () => {
        const key = makeKey({ daily: 100 * USD });
        await insert(ctx.store, key);
        ok(await ctx.store.admit({ keyChain: [key.id], amountMicros: 10 * USD, now: NOW, idempotencyKey: 'grow' }));
        expect(ok(await ctx.store.admit({ keyChain: [key.id], amountMicros: 15 * USD, now: NOW, idempotencyKey: 'grow' }))).toMatchObject({
          reservedMicros: 5 * USD,
          idempotentReplay: true,
        });
        expect(ok(await ctx.store.admit({ keyChain: [key.id], amountMicros: 4 * USD, now: NOW, idempotencyKey: 'grow' }))).toMatchObject({ reservedMicros: 0, idempotentReplay: true });
        const first = ok(await ctx.store.admit({ keyChain: [key.id], amountMicros: 10 * USD, now: NOW, idempotencyKey: 'lower' }));
        await ctx.store.settle({ reservationId: first.reservationId, kind: 'settled', actualMicros: 8 * USD, audit: entry() });
        expect(ok(await ctx.store.admit({ keyChain: [key.id], amountMicros: 10 * USD, now: NOW, idempotencyKey: 'lower' }))).toMatchObject({
          reservedMicros: 2 * USD,
          idempotentReplay: true,
        });
        expect(await spendOf(ctx.store, key)).toEqual({ dailyMicros: 25 * USD, totalMicros: 25 * USD });
      });

      it('a repeat of a released first use is a new request, and the key then refers to it', async () => {
        const key = makeKey({ daily: 100 * USD });
        await insert(ctx.store, key);
        const first = ok(await ctx.store.admit({ keyChain: [key.id], amountMicros: 10 * USD, now: NOW, idempotencyKey: 'refused-once' }));
        await ctx.store.settle({ reservationId: first.reservationId, kind: 'released', actualMicros: 0, audit: entry({ status: 402 }) });
        const second = ok(await ctx.store.admit({ keyChain: [key.id], amountMicros: 10 * USD, now: NOW, idempotencyKey: 'refused-once' }));
        expect(second).toMatchObject({ reservedMicros: 10 * USD, idempotentReplay: false });
        expect(ok(await ctx.store.admit({ keyChain: [key.id], amountMicros: 10 * USD, now: NOW, idempotencyKey: 'refused-once' }))).toMatchObject({
          reservedMicros: 0,
          idempotentReplay: true,
        });
        expect(await spendOf(ctx.store, key)).toEqual({ dailyMicros: 10 * USD, totalMicros: 10 * USD });
      });

      it('never exceeds a cap under 200 concurrent admissions on one key from four instances', async () => {
        const stores = await ctx.instances(4);
        const key = makeKey({ daily: 50 * USD });
        await insert(ctx.store, key);
        const results = await Promise.all(Array.from({ length: 200 }, (_, i) => stores[i % 4]!.admit({ keyChain: [key.id], amountMicros: USD, now: NOW })));
        expect(results.filter((r) => r.ok).length).toBe(50);
        for (const refused of results.filter((r) => !r.ok)) expect(refused).toMatchObject({ ok: false, refusal: { kind: 'daily_cap', keyId: key.id } });
        expect(await spendOf(ctx.store, key)).toEqual({ dailyMicros: 50 * USD, totalMicros: 50 * USD });
      });

      it('never exceeds a parent cap under 200 concurrent admissions spread over its children and four instances', async () => {
        const stores = await ctx.instances(4);
        const root = makeKey({ total: 60 * USD });
        const mid = makeKey({ parent: root });
        const children = Array.from({ length: 4 }, () => makeKey({ parent: mid, daily: 20 * USD }));
        await insert(ctx.store, root, mid, ...children);
        const results = await Promise.all(
          Array.from({ length: 200 }, (_, i) => {
            const child = children[i % 4]!;
            return stores[(i >> 2) % 4]!.admit({ keyChain: chainOf(child, mid, root), amountMicros: USD, now: NOW }).then((r) => ({ child, r }));
          }),
        );
        expect(results.filter(({ r }) => r.ok).length).toBe(60);
        let sum = 0;
        for (const child of children) {
          const admitted = results.filter((x) => x.child === child && x.r.ok).length;
          expect(admitted).toBeLessThanOrEqual(20);
          const spend = await spendOf(ctx.store, child);
          expect(spend.dailyMicros).toBe(admitted * USD);
          sum += spend.dailyMicros;
        }
        expect(sum).toBe(60 * USD);
        expect(await spendOf(ctx.store, mid)).toEqual({ dailyMicros: 60 * USD, totalMicros: 60 * USD });
        expect(await spendOf(ctx.store, root)).toEqual({ dailyMicros: 60 * USD, totalMicros: 60 * USD });
      });

      it('never exceeds a cap with two instances admitting concurrently', async () => {
        const peer = await ctx.peer();
        const root = makeKey({ daily: 40 * USD });
        const a = makeKey({ parent: root });
        const b = makeKey({ parent: root });
        await insert(ctx.store, root, a, b);
        const results = await Promise.all(
          Array.from({ length: 200 }, (_, i) => (i % 2 ? ctx.store : peer).admit({ keyChain: chainOf(i % 3 ? a : b, root), amountMicros: USD, now: NOW })),
        );
        expect(results.filter((r) => r.ok).length).toBe(40);
        expect(await spendOf(peer, root)).toEqual({ dailyMicros: 40 * USD, totalMicros: 40 * USD });
        const sum = (await spendOf(ctx.store, a)).dailyMicros + (await spendOf(ctx.store, b)).dailyMicros;
        expect(sum).toBe(40 * USD);
      });

      it('counts a concurrently repeated idempotency key once, across four instances', async () => {
        const stores = await ctx.instances(4);
        const root = makeKey({ daily: 100 * USD });
        const leaf = makeKey({ parent: root });
        await insert(ctx.store, root, leaf);
        const results = (await Promise.all(
          Array.from({ length: 50 }, (_, i) => stores[i % 4]!.admit({ keyChain: chainOf(leaf, root), amountMicros: 3 * USD, now: NOW, idempotencyKey: 'same-key' })),
        )).map(ok);
        expect(results.filter((r) => !r.idempotentReplay).length).toBe(1);
        expect(results.filter((r) => r.idempotentReplay && r.reservedMicros === 0).length).toBe(49);
        expect(await spendOf(ctx.store, root)).toEqual({ dailyMicros: 3 * USD, totalMicros: 3 * USD });
      });

      it('sees a revocation made by another instance on its next admission (no cache)', async () => {
        const peer = await ctx.peer();
        const root = makeKey();
        const leaf = makeKey({ parent: root });
        await insert(ctx.store, root, leaf);
        ok(await ctx.store.admit({ keyChain: chainOf(leaf, root), amountMicros: USD, now: NOW }));
        expect(await peer.revokeTree(root.id, NOW)).toEqual(expect.arrayContaining([root.id, leaf.id]));
        expect(await ctx.store.admit({ keyChain: chainOf(leaf, root), amountMicros: 0, now: NOW })).toEqual({ ok: false, refusal: { kind: 'revoked', keyId: leaf.id } });
        expect((await ctx.store.getKeyChain(leaf.id)).map((k) => k.revokedAt)).toEqual([NOW, NOW]);
      });

      it('stays consistent (and never deadlocks) under interleaved admits, settlements and revocations from four instances', async () => {
        const stores = await ctx.instances(4);
        const root = makeKey({ daily: 500 * USD });
        const a = makeKey({ parent: root, daily: 300 * USD });
        const b = makeKey({ parent: root, daily: 300 * USD });
        const a1 = makeKey({ parent: a });
        const a2 = makeKey({ parent: a });
        const b1 = makeKey({ parent: b });
        const b2 = makeKey({ parent: b });
        const doomed = makeKey({ parent: b2 });
        await insert(ctx.store, root, a, b, a1, a2, b1, b2, doomed);
        const chains: VaultKeyRecord[][] = [[a1, a, root], [a2, a, root], [b1, b, root], [b2, b, root], [a, root], [b, root], [root], [doomed, b2, b, root]];
        const kinds: SettlementKind[] = ['settled', 'released', 'kept'];
        const expected = new Map<string, number>();
        const operations = shuffled(
          Array.from({ length: 240 }, (_, i) => async () => {
            const store = stores[i % 4]!;
            if (i === 120) {
              await store.revokeTree(doomed.id, NOW);
              return;
            }
            const chain = chains[i % chains.length]!;
            const amount = ((i * 7919) % 5) * USD + 1;
            const admission = await store.admit({ keyChain: chain.map((k) => k.id), amountMicros: amount, now: NOW });
            if (!admission.ok) return;
            const kind = kinds[i % 3]!;
            const actual = kind === 'settled' ? Math.max(0, amount - (i % 4) * 1000) : amount;
            const record = await stores[(i * 7) % 4]!.settle({
              reservationId: admission.reservationId,
              kind,
              actualMicros: actual,
              audit: entry({ vaultKeyId: chain[0]!.id, rootKeyId: root.id, reservedMicros: amount, settledMicros: actual }),
            });
            expect(record.seq).toBeGreaterThan(0);
            const final = kind === 'settled' ? actual : kind === 'released' ? 0 : amount;
            for (const key of chain) expected.set(key.id, (expected.get(key.id) ?? 0) + final);
          }),
        );
        await Promise.all(operations.map((op) => op()));
        for (const key of [root, a, b, a1, a2, b1, b2, doomed]) {
          expect(await spendOf(ctx.store, key)).toEqual({ dailyMicros: expected.get(key.id) ?? 0, totalMicros: expected.get(key.id) ?? 0 });
        }
        expect((await spendOf(ctx.store, root)).dailyMicros).toBeLessThanOrEqual(500 * USD + 1000);
        await expectChainIntact(ctx.store);
      });

      it('decides every admission as the shared rule does, over a random walk of caps, rate limits, expiries and revocations', async () => {
        // A store may take shortcuts (PostgreSQL admits the common case in one round trip behind a
        // guard of its own); whatever it does, each decision must be checkAdmission's on the state
        // the store holds, which this test models beside it.
        let seed = 7;
        const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
        const pick = <T,>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
        const model = new Map<string, ChainLinkState>();
        const trees: VaultKeyRecord[][] = [];
        for (let t = 0; t < 4; t++) {
          const root = makeKey({ daily: pick([null, 10 * USD, 25 * USD]), total: pick([null, 40 * USD]), rate: pick([null, 6, 10]) });
          const child = makeKey({ parent: root, daily: pick([null, 8 * USD]), rate: pick([null, 3, 8]), expiresAt: pick([FAR_FUTURE, NOW + 150_000]) });
          const leaf = makeKey({ parent: child, total: pick([null, 5 * USD, 12 * USD]) });
          await insert(ctx.store, root, child, leaf);
          trees.push([leaf, child, root]);
          for (const key of [root, child, leaf]) {
            model.set(key.id, {
              id: key.id,
              revokedAt: null,
              expiresAt: key.policy.expiresAt,
              dailyCapMicros: key.policy.dailyCapMicros,
              totalCapMicros: key.policy.totalCapMicros,
              rateLimitPerMinute: key.policy.rateLimitPerMinute ?? null,
              dailySpentMicros: 0,
              totalSpentMicros: 0,
              requestsThisMinute: 0,
            });
          }
        }
        const windows = new Map<string, number>();
        let admitted = 0;
        let refused = 0;
        for (let i = 0; i < 160; i++) {
          const now = NOW + i * 1500;
          const chain = pick(trees).slice(pick([0, 0, 1, 2]));
          if (i === 90) {
            // a revocation in the middle of the walk: the subtree of one tree's child
            const [leaf, child] = pick(trees);
            await ctx.store.revokeTree(child!.id, now);
            for (const key of [leaf!, child!]) model.get(key.id)!.revokedAt = now;
          }
          const amount = pick([0, 300_000, USD, 2 * USD, 3 * USD]);
          const links = chain.map((key) => {
            const link = model.get(key.id)!;
            return { ...link, requestsThisMinute: windows.get(key.id) === rateWindowStart(now) ? link.requestsThisMinute : 0 };
          });
          const expected = checkAdmission(links, amount, now);
          const result = await ctx.store.admit({ keyChain: chainOf(...chain), amountMicros: amount, now });
          if (expected) {
            expect(result, `admission ${i}`).toEqual({ ok: false, refusal: expected });
            refused++;
            continue;
          }
          expect(result, `admission ${i}`).toMatchObject({ ok: true, reservedMicros: amount });
          admitted++;
          for (const link of links) {
            const state = model.get(link.id)!;
            state.dailySpentMicros += amount;
            state.totalSpentMicros += amount;
            if (state.rateLimitPerMinute !== null) {
              state.requestsThisMinute = link.requestsThisMinute + 1;
              windows.set(link.id, rateWindowStart(now));
            }
          }
        }
        // the walk met both outcomes often, so each path was taken
        expect(admitted).toBeGreaterThan(25);
        expect(refused).toBeGreaterThan(25);
        for (const [id, state] of model) {
          expect((await ctx.store.keySpend([id], TODAY)).get(id), id).toEqual({ dailyMicros: state.dailySpentMicros, totalMicros: state.totalSpentMicros });
        }
      });

      it('keeps every cap and rate limit under concurrent bursts over a random forest, and counts exactly what it admitted', async () => {
        // Bursts of concurrent admissions (a store may batch them: PostgreSQL admits a tree's
        // queued requests together when they all fit). Orders are unknowable here, so this checks
        // what must hold in any order: no cap or rate limit passed, the counters equal the sum
        // of what was admitted, and every refusal names a key of its chain for a reason it had.
        let seed = 11;
        const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
        const pick = <T,>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
        const chains: VaultKeyRecord[][] = [];
        const keys = new Map<string, VaultKeyRecord>();
        for (let t = 0; t < 3; t++) {
          const root = makeKey({ daily: pick([8 * USD, 15 * USD]), rate: pick([null, 12]) });
          const children = [makeKey({ parent: root, daily: pick([null, 5 * USD]), rate: pick([null, 6]) }), makeKey({ parent: root, total: pick([null, 4 * USD]) })];
          await insert(ctx.store, root, ...children);
          for (const key of [root, ...children]) keys.set(key.id, key);
          chains.push([root], ...children.map((child) => [child, root]));
        }
        const admittedMicros = new Map<string, number>();
        const admittedCount = new Map<string, number>();
        const refusals: { refusal: AdmissionRefusal; amount: number }[] = [];
        for (let round = 0; round < 6; round++) {
          const burst = Array.from({ length: 16 }, () => ({ chain: pick(chains), amount: pick([0, 500_000, USD, 2 * USD]) }));
          const results = await Promise.all(burst.map(({ chain, amount }) => ctx.store.admit({ keyChain: chainOf(...chain), amountMicros: amount, now: NOW })));
          results.forEach((result, i) => {
            const { chain, amount } = burst[i]!;
            if (result.ok) {
              expect(result.reservedMicros).toBe(amount);
              for (const key of chain) {
                admittedMicros.set(key.id, (admittedMicros.get(key.id) ?? 0) + amount);
                admittedCount.set(key.id, (admittedCount.get(key.id) ?? 0) + 1);
              }
            } else {
              expect(chain.map((key) => key.id)).toContain((result.refusal as { keyId: string }).keyId);
              expect(['daily_cap', 'total_cap', 'rate_limited']).toContain(result.refusal.kind);
              if (result.refusal.kind !== 'rate_limited') expect(amount).toBeGreaterThan(0);
              refusals.push({ refusal: result.refusal, amount });
            }
          });
        }
        expect([...admittedCount.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(20);
        for (const [id, key] of keys) {
          const spent = (await ctx.store.keySpend([id], TODAY)).get(id)!;
          expect(spent, id).toEqual({ dailyMicros: admittedMicros.get(id) ?? 0, totalMicros: admittedMicros.get(id) ?? 0 });
          if (key.policy.dailyCapMicros !== null) expect(spent.dailyMicros).toBeLessThanOrEqual(key.policy.dailyCapMicros);
          if (key.policy.totalCapMicros !== null) expect(spent.totalMicros).toBeLessThanOrEqual(key.policy.totalCapMicros);
          if (key.policy.rateLimitPerMinute) expect(admittedCount.get(id) ?? 0).toBeLessThanOrEqual(key.policy.rateLimitPerMinute);
        }
        // spend only grew, so a refusal had no room even then: none was refused while room remained
        for (const { refusal, amount } of refusals) {
          const key = keys.get((refusal as { keyId: string }).keyId)!;
          if (refusal.kind === 'daily_cap') expect((admittedMicros.get(key.id) ?? 0) + amount).toBeGreaterThan(key.policy.dailyCapMicros!);
          if (refusal.kind === 'total_cap') expect((admittedMicros.get(key.id) ?? 0) + amount).toBeGreaterThan(key.policy.totalCapMicros!);
          if (refusal.kind === 'rate_limited') expect(admittedCount.get(key.id)).toBe(key.policy.rateLimitPerMinute);
        }
      });
    });

    describe('settlement', () => {
      const ctx = useStore(makeStore);

      async function reserved(amount: number, options: KeyOptions = {}, now = NOW) {
        const root = makeKey(options);
        const leaf = makeKey({ parent: root });
        await insert(ctx.store, root, leaf);
        const admission = ok(await ctx.store.admit({ keyChain: chainOf(leaf, root), amountMicros: amount, now }));
        return { root, leaf, admission };
      }

      it('settled: the reservation becomes the actual amount on every key of the chain', async () => {
        const { root, leaf, admission } = await reserved(10 * USD);
        const record = await ctx.store.settle({
          reservationId: admission.reservationId,
          kind: 'settled',
          actualMicros: 7 * USD,
          audit: entry({ vaultKeyId: leaf.id, rootKeyId: root.id, reservedMicros: 10 * USD, settledMicros: 7 * USD }),
        });
        expect(record).toMatchObject({ vaultKeyId: leaf.id, settledMicros: 7 * USD });
        for (const key of [leaf, root]) expect(await spendOf(ctx.store, key)).toEqual({ dailyMicros: 7 * USD, totalMicros: 7 * USD });
      });

      it('a store that answers before settling shows a settlement not yet awaited to its own reads', async () => {
        const { root, leaf, admission } = await reserved(10 * USD);
        const settling = ctx.store.settle({
          reservationId: admission.reservationId,
          kind: 'settled',
          actualMicros: 7 * USD,
          audit: entry({ vaultKeyId: leaf.id, rootKeyId: root.id, reason: 'not awaited', reservedMicros: 10 * USD, settledMicros: 7 * USD }),
        });
        if (ctx.store.answersBeforeSettle) {
          // what a client that got its answer and reads at once through this instance finds
          expect((await ctx.store.queryAudit({ vaultKeyId: leaf.id })).map((row) => row.reason)).toEqual(['not awaited']);
          expect(await spendOf(ctx.store, root)).toEqual({ dailyMicros: 7 * USD, totalMicros: 7 * USD });
        }
        await settling;
        expect((await ctx.store.queryAudit({ vaultKeyId: leaf.id })).map((row) => row.reason)).toEqual(['not awaited']);
        for (const key of [leaf, root]) expect(await spendOf(ctx.store, key)).toEqual({ dailyMicros: 7 * USD, totalMicros: 7 * USD });
      });

      it('released: the reservation is given back', async () => {
        const { root, leaf, admission } = await reserved(10 * USD);
        await ctx.store.settle({ reservationId: admission.reservationId, kind: 'released', actualMicros: 10 * USD, audit: entry({ status: 402 }) });
        for (const key of [leaf, root]) expect(await spendOf(ctx.store, key)).toEqual({ dailyMicros: 0, totalMicros: 0 });
      });

      it('kept: the reservation stays counted whatever actualMicros says', async () => {
        const { root, leaf, admission } = await reserved(10 * USD);
        await ctx.store.settle({ reservationId: admission.reservationId, kind: 'kept', actualMicros: 0, audit: entry({ status: 502, reason: 'upstream_5xx_kept' }) });
        for (const key of [leaf, root]) expect(await spendOf(ctx.store, key)).toEqual({ dailyMicros: 10 * USD, totalMicros: 10 * USD });
      });

      it('a reservation never settled (instance died) stays counted', async () => {
        const { root, leaf } = await reserved(4 * USD);
        for (const key of [leaf, root]) expect(await spendOf(ctx.store, key)).toEqual({ dailyMicros: 4 * USD, totalMicros: 4 * USD });
      });

      it('a settlement above the reservation may pass the cap; then only zero-cost requests are admitted', async () => {
        const { root, leaf, admission } = await reserved(10 * USD, { daily: 10 * USD });
        await ctx.store.settle({ reservationId: admission.reservationId, kind: 'settled', actualMicros: 12 * USD, audit: entry() });
        expect(await spendOf(ctx.store, root)).toEqual({ dailyMicros: 12 * USD, totalMicros: 12 * USD });
        ok(await ctx.store.admit({ keyChain: chainOf(leaf, root), amountMicros: 0, now: NOW }));
        expect(await ctx.store.admit({ keyChain: chainOf(leaf, root), amountMicros: 1, now: NOW })).toEqual({
          ok: false,
          refusal: { kind: 'daily_cap', keyId: root.id, capMicros: 10 * USD, spentMicros: 12 * USD, requestedMicros: 1 },
        });
      });

      it("adjusts the reservation's own day, not the settlement's", async () => {
        const yesterday = NOW - DAY_MS;
        const { root, admission } = await reserved(10 * USD, {}, yesterday);
        await ctx.store.settle({ reservationId: admission.reservationId, kind: 'settled', actualMicros: 6 * USD, audit: entry() });
        expect(await spendOf(ctx.store, root, utcDay(yesterday))).toEqual({ dailyMicros: 6 * USD, totalMicros: 6 * USD });
        expect(await spendOf(ctx.store, root, TODAY)).toEqual({ dailyMicros: 0, totalMicros: 6 * USD });
      });

      it('ends a reservation once: a second settlement or an unknown one fails and changes nothing', async () => {
        const { root, admission } = await reserved(10 * USD);
        await ctx.store.settle({ reservationId: admission.reservationId, kind: 'settled', actualMicros: 8 * USD, audit: entry() });
        const before = await wholeChain(ctx.store);
        await expect(ctx.store.settle({ reservationId: admission.reservationId, kind: 'released', actualMicros: 0, audit: entry() })).rejects.toThrow(/already settled/);
        await expect(ctx.store.settle({ reservationId: 'no-such-reservation', kind: 'settled', actualMicros: 0, audit: entry() })).rejects.toThrow(/no reservation/);
        expect(await spendOf(ctx.store, root)).toEqual({ dailyMicros: 8 * USD, totalMicros: 8 * USD });
        expect((await wholeChain(ctx.store)).length).toBe(before.length);
      });

      it('concurrent settlements of one reservation: exactly one wins', async () => {
        const peer = await ctx.peer();
        const { root, admission } = await reserved(10 * USD);
        const attempts = await Promise.allSettled(
          Array.from({ length: 10 }, (_, i) =>
            (i % 2 ? ctx.store : peer).settle({ reservationId: admission.reservationId, kind: i % 3 ? 'released' : 'settled', actualMicros: 5 * USD, audit: entry() }),
          ),
        );
        expect(attempts.filter((a) => a.status === 'fulfilled').length).toBe(1);
        const spent = (await spendOf(ctx.store, root)).dailyMicros;
        expect([0, 5 * USD]).toContain(spent);
      });

      it('remembers what a created object counts, in its key tree only; the count only grows', async () => {
        const { root, leaf, admission } = await reserved(10 * USD);
        await ctx.store.settle({ reservationId: admission.reservationId, kind: 'settled', actualMicros: 10 * USD, paidObjectIds: ['pi_123', 'ch_456'], audit: entry() });
        expect(await ctx.store.countedForObject(root.id, 'pi_123')).toBe(10 * USD);
        expect(await ctx.store.countedForObject(root.id, 'ch_456')).toBe(10 * USD);
        expect(await ctx.store.countedForObject(root.id, 'pi_999')).toBeUndefined();
        expect(await ctx.store.countedForObject(leaf.id, 'pi_123')).toBeUndefined();
        const other = await reserved(USD);
        expect(await ctx.store.countedForObject(other.root.id, 'pi_123')).toBeUndefined();
        // named again in the same tree for less: no error, the count stays
        const again = ok(await ctx.store.admit({ keyChain: chainOf(leaf, root), amountMicros: USD, now: NOW }));
        await ctx.store.settle({ reservationId: again.reservationId, kind: 'settled', actualMicros: USD, paidObjectIds: ['pi_123'], audit: entry() });
        expect(await ctx.store.countedForObject(root.id, 'pi_123')).toBe(10 * USD);
        // an idempotent replay (counted 0 itself) names what its first use counted
        const replay = ok(await ctx.store.admit({ keyChain: chainOf(leaf, root), amountMicros: 0, now: NOW }));
        await ctx.store.settle({ reservationId: replay.reservationId, kind: 'settled', actualMicros: 0, paidObjectIds: ['pi_replayed'], paidObjectMicros: 4 * USD, audit: entry() });
        expect(await ctx.store.countedForObject(root.id, 'pi_replayed')).toBe(4 * USD);
      });

      it('reprices a paid object: the difference goes to the chain on the reservation day, with an audit row', async () => {
        const yesterday = NOW - DAY_MS;
        const { root, leaf, admission } = await reserved(5 * USD, {}, yesterday);
        await ctx.store.settle({ reservationId: admission.reservationId, kind: 'settled', actualMicros: 5 * USD, paidObjectIds: ['SM_1'], audit: entry() });
        const result = await ctx.store.reprice({ rootId: root.id, objectId: 'SM_1', actualMicros: 7_250_000, audit: entry({ vaultKeyId: leaf.id, reason: 'repriced' }) });
        expect(result).toMatchObject({ kind: 'repriced', reservationId: admission.reservationId, previousMicros: 5 * USD, actualMicros: 7_250_000 });
        if (result.kind !== 'repriced') throw new Error('not repriced');
        expect(result.audit).toMatchObject({ vaultKeyId: leaf.id, reason: 'repriced', reservedMicros: 5 * USD, settledMicros: 7_250_000 });
        const [row] = await ctx.store.queryAudit({ vaultKeyId: leaf.id, limit: 1 });
        expect(row).toEqual(result.audit);
        for (const key of [leaf, root]) expect(await spendOf(ctx.store, key, utcDay(yesterday))).toEqual({ dailyMicros: 7_250_000, totalMicros: 7_250_000 });
        expect(await ctx.store.countedForObject(root.id, 'SM_1')).toBe(7_250_000);
        expect(await ctx.store.reprice({ rootId: root.id, objectId: 'SM_1', actualMicros: 7_250_000, audit: entry() })).toEqual({ kind: 'unchanged', reservationId: admission.reservationId });
        // down as well
        expect(await ctx.store.reprice({ rootId: root.id, objectId: 'SM_1', actualMicros: 1 * USD, audit: entry() })).toMatchObject({ kind: 'repriced', previousMicros: 7_250_000 });
        expect(await spendOf(ctx.store, root, utcDay(yesterday))).toEqual({ dailyMicros: 1 * USD, totalMicros: 1 * USD });
        expect(await ctx.store.spend({ groupBy: { by: 'vault_key' }, fromDay: utcDay(yesterday), toDay: utcDay(yesterday) })).toContainEqual({ group: leaf.id, micros: 1 * USD, requests: 1 });
      });

      it('reprices only a settled reservation of the same tree; the first reservation to name an object keeps it', async () => {
        const { root, leaf, admission } = await reserved(5 * USD);
        await ctx.store.settle({ reservationId: admission.reservationId, kind: 'settled', actualMicros: 5 * USD, paidObjectIds: ['SM_first'], audit: entry() });
        const later = ok(await ctx.store.admit({ keyChain: chainOf(leaf, root), amountMicros: 2 * USD, now: NOW }));
        await ctx.store.settle({ reservationId: later.reservationId, kind: 'settled', actualMicros: 2 * USD, paidObjectIds: ['SM_first'], audit: entry() });
        expect(await ctx.store.reprice({ rootId: root.id, objectId: 'SM_first', actualMicros: 6 * USD, audit: entry() })).toMatchObject({ kind: 'repriced', reservationId: admission.reservationId, previousMicros: 5 * USD });
        const other = await reserved(USD);
        expect(await ctx.store.reprice({ rootId: other.root.id, objectId: 'SM_first', actualMicros: 9 * USD, audit: entry() })).toEqual({ kind: 'unknown_object' });
        expect(await ctx.store.reprice({ rootId: root.id, objectId: 'SM_nothing', actualMicros: 9 * USD, audit: entry() })).toEqual({ kind: 'unknown_object' });
        const kept = ok(await ctx.store.admit({ keyChain: chainOf(leaf, root), amountMicros: 3 * USD, now: NOW }));
        await ctx.store.settle({ reservationId: kept.reservationId, kind: 'kept', actualMicros: 3 * USD, paidObjectIds: ['SM_kept'], audit: entry() });
        expect(await ctx.store.reprice({ rootId: root.id, objectId: 'SM_kept', actualMicros: 9 * USD, audit: entry() })).toEqual({ kind: 'unknown_object' });
        expect(await spendOf(ctx.store, root)).toEqual({ dailyMicros: 11 * USD, totalMicros: 11 * USD });
      });

      it('concurrent reprices of one object from two instances leave the counters equal to the final amount', async () => {
        const peer = await ctx.peer();
        const { root, leaf, admission } = await reserved(5 * USD);
        await ctx.store.settle({ reservationId: admission.reservationId, kind: 'settled', actualMicros: 5 * USD, paidObjectIds: ['SM_race'], audit: entry() });
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => (i % 2 ? ctx.store : peer).reprice({ rootId: root.id, objectId: 'SM_race', actualMicros: (i + 1) * 100_000, audit: entry() })),
        );
        expect(results.every((r) => r.kind === 'repriced' || r.kind === 'unchanged')).toBe(true);
        const [row] = (await ctx.store.spend({ groupBy: { by: 'vault_key' }, fromDay: TODAY, toDay: TODAY })).filter((r) => r.group === leaf.id);
        expect(await spendOf(ctx.store, leaf)).toEqual({ dailyMicros: row!.micros, totalMicros: row!.micros });
        expect(await spendOf(ctx.store, root)).toEqual({ dailyMicros: row!.micros, totalMicros: row!.micros });
        await expectChainIntact(ctx.store);
      });

      it('appends the settlement audit row in the same operation', async () => {
        const { root, leaf, admission } = await reserved(3 * USD);
        const audit = entry({ vaultKeyId: leaf.id, rootKeyId: root.id, reservedMicros: 3 * USD, settledMicros: 3 * USD, upstreamRequestId: 'req_settle' });
        const record = await ctx.store.settle({ reservationId: admission.reservationId, kind: 'settled', actualMicros: 3 * USD, audit });
        const [row] = await ctx.store.queryAudit({ vaultKeyId: leaf.id });
        expect(row).toEqual(record);
        expect(row).toMatchObject(audit);
      });
    });

    describe('counting per object', () => {
      const ctx = useStore(makeStore);

      /** a key tree (root capped, one leaf) whose root has counted `counted` for a new object, created through it */
      async function createdObject(counted: number, options: KeyOptions = {}) {
        const root = makeKey(options);
        const leaf = makeKey({ parent: root });
        await insert(ctx.store, root, leaf);
        const objectId = `pi_${generateVaultKey().id}`;
        const created = ok(await ctx.store.admit({ keyChain: chainOf(leaf, root), amountMicros: counted, now: NOW }));
        await ctx.store.settle({ reservationId: created.reservationId, kind: 'settled', actualMicros: counted, paidObjectIds: [objectId], audit: entry() });
        return { root, leaf, chain: chainOf(leaf, root), objectId };
      }

      const step = (objectId: string, ceilingMicros: number) => ({ id: objectId, ceilingMicros });

      it('a step pays what its ceiling exceeds the count; one at or below it pays nothing', async () => {
        const { root, chain, objectId } = await createdObject(USD, { daily: 100 * USD });
        const raised = ok(await ctx.store.admit({ keyChain: chain, amountMicros: 0, now: NOW, object: step(objectId, 50 * USD) }));
        expect(raised).toMatchObject({ reservedMicros: 49 * USD, idempotentReplay: false });
        expect(await ctx.store.countedForObject(root.id, objectId)).toBe(50 * USD);
        const lower = ok(await ctx.store.admit({ keyChain: chain, amountMicros: 0, now: NOW, object: step(objectId, 20 * USD) }));
        expect(lower.reservedMicros).toBe(0);
        const same = ok(await ctx.store.admit({ keyChain: chain, amountMicros: 0, now: NOW, object: step(objectId, 50 * USD) }));
        expect(same.reservedMicros).toBe(0);
        expect(await ctx.store.countedForObject(root.id, objectId)).toBe(50 * USD);
        expect(await spendOf(ctx.store, root)).toEqual({ dailyMicros: 50 * USD, totalMicros: 50 * USD });
        // amountMicros is a cost besides the object's
        const both = ok(await ctx.store.admit({ keyChain: chain, amountMicros: 2 * USD, now: NOW, object: step(objectId, 51 * USD) }));
        expect(both.reservedMicros).toBe(3 * USD);
      });

      it('an increase past a cap is refused with the increase as the requested amount, and nothing changes', async () => {
        const { root, leaf, chain, objectId } = await createdObject(USD, { daily: 100 * USD });
        expect(await ctx.store.admit({ keyChain: chain, amountMicros: 0, now: NOW, object: step(objectId, 5000 * USD) })).toEqual({
          ok: false,
          refusal: { kind: 'daily_cap', keyId: root.id, capMicros: 100 * USD, spentMicros: USD, requestedMicros: 4999 * USD },
        });
        expect(await ctx.store.countedForObject(root.id, objectId)).toBe(USD);
        for (const key of [leaf, root]) expect(await spendOf(ctx.store, key)).toEqual({ dailyMicros: USD, totalMicros: USD });
        // up to the cap exactly is fine
        expect(ok(await ctx.store.admit({ keyChain: chain, amountMicros: 0, now: NOW, object: step(objectId, 100 * USD) })).reservedMicros).toBe(99 * USD);
      });

      it('an object never counted in the tree is counted in full at its first step, per tree', async () => {
        const { root, chain } = await createdObject(0, { daily: 100 * USD });
        const first = ok(await ctx.store.admit({ keyChain: chain, amountMicros: 0, now: NOW, object: step('pi_outside', 30 * USD) }));
        expect(first.reservedMicros).toBe(30 * USD);
        expect(await ctx.store.countedForObject(root.id, 'pi_outside')).toBe(30 * USD);
        const other = await createdObject(0);
        const elsewhere = ok(await ctx.store.admit({ keyChain: other.chain, amountMicros: 0, now: NOW, object: step('pi_outside', 30 * USD) }));
        expect(elsewhere.reservedMicros).toBe(30 * USD);
      });

      it('settled or kept, an object step keeps what it reserved whatever actualMicros says', async () => {
        const { root, chain, objectId } = await createdObject(10 * USD);
        const settled = ok(await ctx.store.admit({ keyChain: chain, amountMicros: 0, now: NOW, object: step(objectId, 15 * USD) }));
        const record = await ctx.store.settle({ reservationId: settled.reservationId, kind: 'settled', actualMicros: 0, audit: entry({ settledMicros: 5 * USD }) });
        expect(record.settledMicros).toBe(5 * USD);
        const kept = ok(await ctx.store.admit({ keyChain: chain, amountMicros: 0, now: NOW, object: step(objectId, 18 * USD) }));
        await ctx.store.settle({ reservationId: kept.reservationId, kind: 'kept', actualMicros: 0, audit: entry() });
        expect(await spendOf(ctx.store, root)).toEqual({ dailyMicros: 18 * USD, totalMicros: 18 * USD });
        expect(await ctx.store.countedForObject(root.id, objectId)).toBe(18 * USD);
      });

      it('a released step gives its increase back, to the chain and to the object, and its audit row says 0', async () => {
        const { root, leaf, chain, objectId } = await createdObject(10 * USD);
        const raised = ok(await ctx.store.admit({ keyChain: chain, amountMicros: 0, now: NOW, object: step(objectId, 30 * USD) }));
        const record = await ctx.store.settle({ reservationId: raised.reservationId, kind: 'released', actualMicros: 0, audit: entry({ status: 400 }) });
        expect(record.settledMicros).toBe(0);
        for (const key of [leaf, root]) expect(await spendOf(ctx.store, key)).toEqual({ dailyMicros: 10 * USD, totalMicros: 10 * USD });
        expect(await ctx.store.countedForObject(root.id, objectId)).toBe(10 * USD);
        // the next step pays the increase again
        expect(ok(await ctx.store.admit({ keyChain: chain, amountMicros: 0, now: NOW, object: step(objectId, 30 * USD) })).reservedMicros).toBe(20 * USD);
      });

      it('a failing step and a succeeding one: the release keeps what the surviving step relies on', async () => {
        const { root, chain, objectId } = await createdObject(10 * USD);
        // A raises to 50 (pays 40); B, admitted while A is held, asks for 30 and pays nothing: it relies on A's count
        const a = ok(await ctx.store.admit({ keyChain: chain, amountMicros: 0, now: NOW, object: step(objectId, 50 * USD) }));
        const b = ok(await ctx.store.admit({ keyChain: chain, amountMicros: 0, now: NOW, object: step(objectId, 30 * USD) }));
        expect([a.reservedMicros, b.reservedMicros]).toEqual([40 * USD, 0]);
        // A fails: it gives back 20 (50 -> 30) and keeps 20, which B's 30 needs
        const released = await ctx.store.settle({ reservationId: a.reservationId, kind: 'released', actualMicros: 0, audit: entry({ status: 400 }) });
        expect(released.settledMicros).toBe(20 * USD);
        expect(await ctx.store.countedForObject(root.id, objectId)).toBe(30 * USD);
        await ctx.store.settle({ reservationId: b.reservationId, kind: 'settled', actualMicros: 0, audit: entry() });
        expect(await spendOf(ctx.store, root)).toEqual({ dailyMicros: 30 * USD, totalMicros: 30 * USD });
        expect(await ctx.store.countedForObject(root.id, objectId)).toBe(30 * USD);
      });

      it('when the step relied on fails first, the raising step still gives back everything once it fails too', async () => {
        const { root, chain, objectId } = await createdObject(10 * USD);
        const a = ok(await ctx.store.admit({ keyChain: chain, amountMicros: 0, now: NOW, object: step(objectId, 50 * USD) }));
        const b = ok(await ctx.store.admit({ keyChain: chain, amountMicros: 0, now: NOW, object: step(objectId, 30 * USD) }));
        await ctx.store.settle({ reservationId: b.reservationId, kind: 'released', actualMicros: 0, audit: entry({ status: 400 }) });
        await ctx.store.settle({ reservationId: a.reservationId, kind: 'released', actualMicros: 0, audit: entry({ status: 400 }) });
        expect(await ctx.store.countedForObject(root.id, objectId)).toBe(10 * USD);
        expect(await spendOf(ctx.store, root)).toEqual({ dailyMicros: 10 * USD, totalMicros: 10 * USD });
      });

      it('a repeated idempotency key on an object step is counted once', async () => {
        const { root, chain, objectId } = await createdObject(10 * USD);
        const first = ok(await ctx.store.admit({ keyChain: chain, amountMicros: 0, now: NOW, idempotencyKey: 'raise-1', object: step(objectId, 25 * USD) }));
        const again = ok(await ctx.store.admit({ keyChain: chain, amountMicros: 0, now: NOW, idempotencyKey: 'raise-1', object: step(objectId, 25 * USD) }));
        expect([first.reservedMicros, again.reservedMicros, again.idempotentReplay]).toEqual([15 * USD, 0, true]);
        expect(await spendOf(ctx.store, root)).toEqual({ dailyMicros: 25 * USD, totalMicros: 25 * USD });
      });

      it('20 concurrent steps to the same ceiling from four instances count the increase once', async () => {
        const stores = await ctx.instances(4);
        const { root, chain, objectId } = await createdObject(USD, { daily: 1000 * USD });
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => stores[i % 4]!.admit({ keyChain: chain, amountMicros: 0, now: NOW, object: step(objectId, 500 * USD) })),
        );
        const reserved = results.map((r) => ok(r).reservedMicros);
        expect(reserved.filter((m) => m > 0)).toEqual([499 * USD]);
        expect(await ctx.store.countedForObject(root.id, objectId)).toBe(500 * USD);
        expect(await spendOf(ctx.store, root)).toEqual({ dailyMicros: 500 * USD, totalMicros: 500 * USD });
      });

      it('concurrent increasing steps end with the count at the highest ceiling and the spend equal to it', async () => {
        const stores = await ctx.instances(4);
        const { root, leaf, chain, objectId } = await createdObject(10 * USD, { daily: 1000 * USD });
        const ceilings = shuffled(Array.from({ length: 10 }, (_, i) => (i + 2) * 10 * USD));
        const results = await Promise.all(ceilings.map((c, i) => stores[i % 4]!.admit({ keyChain: chain, amountMicros: 0, now: NOW, object: step(objectId, c) })));
        const admissions = results.map(ok);
        await Promise.all(admissions.map((a, i) => stores[(i + 1) % 4]!.settle({ reservationId: a.reservationId, kind: 'settled', actualMicros: 0, audit: entry() })));
        expect(admissions.reduce((sum, a) => sum + a.reservedMicros, 0)).toBe(100 * USD);
        expect(await ctx.store.countedForObject(root.id, objectId)).toBe(110 * USD);
        for (const key of [leaf, root]) expect(await spendOf(ctx.store, key)).toEqual({ dailyMicros: 110 * USD, totalMicros: 110 * USD });
        await expectChainIntact(ctx.store);
      });

      it('concurrent steps never pass the cap: what is admitted is exactly the highest admitted ceiling', async () => {
        const stores = await ctx.instances(4);
        const { root, chain, objectId } = await createdObject(0, { daily: 100 * USD });
        const ceilings = shuffled(Array.from({ length: 30 }, (_, i) => (i + 1) * 7 * USD), 7);
        const results = await Promise.all(ceilings.map((c, i) => stores[i % 4]!.admit({ keyChain: chain, amountMicros: 0, now: NOW, object: step(objectId, c) })));
        const admittedCeilings = ceilings.filter((_, i) => results[i]!.ok);
        const spent = (await spendOf(ctx.store, root)).dailyMicros;
        expect(spent).toBeLessThanOrEqual(100 * USD);
        expect(spent).toBe(Math.max(...admittedCeilings));
        expect(await ctx.store.countedForObject(root.id, objectId)).toBe(spent);
        for (const [i, r] of results.entries()) if (!r.ok) expect(r.refusal).toMatchObject({ kind: 'daily_cap', keyId: root.id });
        expect(ceilings.filter((c, i) => !results[i]!.ok && c <= spent)).toEqual([]);
      });

      it('concurrent failing and succeeding steps from two instances: never counted below a surviving ceiling, never above the highest', async () => {
        const peer = await ctx.peer();
        const { root, leaf, chain, objectId } = await createdObject(5 * USD, { daily: 10_000 * USD });
        const ceilings = shuffled(Array.from({ length: 24 }, (_, i) => (i + 1) * 10 * USD), 3);
        const released = (i: number) => i % 3 === 0;
        await Promise.all(
          ceilings.map(async (c, i) => {
            const store = i % 2 ? ctx.store : peer;
            const admission = ok(await store.admit({ keyChain: chain, amountMicros: 0, now: NOW, object: step(objectId, c) }));
            await store.settle({ reservationId: admission.reservationId, kind: released(i) ? 'released' : 'settled', actualMicros: 0, audit: entry() });
          }),
        );
        const counted = (await ctx.store.countedForObject(root.id, objectId))!;
        const surviving = Math.max(...ceilings.filter((_, i) => !released(i)));
        expect(counted).toBeGreaterThanOrEqual(surviving);
        expect(counted).toBeLessThanOrEqual(Math.max(...ceilings));
        // the spend is the object's count: the create plus every step's kept part
        for (const key of [leaf, root]) expect(await spendOf(ctx.store, key)).toEqual({ dailyMicros: counted, totalMicros: counted });
        await expectChainIntact(ctx.store);
      });
    });

    describe('crash recovery', () => {
      const ctx = useStore(makeStore);
      const facts = (path: string) => ({ vendor: 'stripe', method: 'POST', path, idempotencyKey: `idem-${path}`, attribution: { 'keyleash-agent': 'a1' }, at: NOW - 5 });

      it("recovers a reservation held by an instance that is gone, and leaves a live instance's alone", async () => {
        const [live, other] = await ctx.instances(2);
        const root = makeKey({ daily: 100 * USD, metadata: { role: 'billing' } });
        const leaf = makeKey({ parent: root });
        await insert(ctx.store, root, leaf);
        // a live instance is forwarding this one
        const inFlight = ok(await live!.admit({ keyChain: chainOf(leaf, root), amountMicros: 3 * USD, now: NOW, request: facts('/v1/live') }));
        // an instance that admitted, then stopped without settling (as a crash leaves it)
        const gone = await ctx.handle.openPeer();
        const abandoned = ok(await gone.admit({ keyChain: chainOf(leaf, root), amountMicros: 5 * USD, now: NOW, request: facts('/v1/abandoned') }));
        await gone.close();
        const before = (await wholeChain(ctx.store)).length;

        expect(await other!.recoverAbandoned()).toBe(1);
        // idempotent: nothing left to recover
        expect(await live!.recoverAbandoned()).toBe(0);

        const rows = await expectChainIntact(ctx.store);
        expect(rows.slice(before)).toEqual([
          expect.objectContaining({
            at: NOW - 5,
            vaultKeyId: leaf.id,
            rootKeyId: root.id,
            metadata: { role: 'billing' },
            vendor: 'stripe',
            method: 'POST',
            path: '/v1/abandoned',
            status: 0,
            decision: 'allowed',
            reason: OUTCOME_UNKNOWN_REASON,
            reservedMicros: 5 * USD,
            settledMicros: 5 * USD,
            idempotencyKey: 'idem-/v1/abandoned',
            attribution: { 'keyleash-agent': 'a1' },
          }),
        ]);
        // the abandoned reservation stays counted in full, and is no longer held: a settlement now fails
        for (const key of [leaf, root]) expect(await spendOf(ctx.store, key)).toEqual({ dailyMicros: 8 * USD, totalMicros: 8 * USD });
        await expect(ctx.store.settle({ reservationId: abandoned.reservationId, kind: 'released', actualMicros: 0, audit: entry() })).rejects.toThrow(/already kept/);
        // the live one was left alone: its own settlement still works
        await live!.settle({ reservationId: inFlight.reservationId, kind: 'settled', actualMicros: 2 * USD, audit: entry({ vaultKeyId: leaf.id }) });
        for (const key of [leaf, root]) expect(await spendOf(ctx.store, key)).toEqual({ dailyMicros: 7 * USD, totalMicros: 7 * USD });
        await expectChainIntact(ctx.store);
      });
    });

    describe('audit', () => {
      const ctx = useStore(makeStore);

      it('chains each row to the previous one, from the genesis hash, seq 1, 2, 3…', async () => {
        const first = await ctx.store.appendAudit(entry({ reason: 'first' }));
        expect(first.seq).toBe(1);
        expect(first.prevHash).toBe(GENESIS_HASH);
        expect(first.hash).toBe(auditHash(GENESIS_HASH, entry({ reason: 'first' })));
        const second = await ctx.store.appendAudit(entry({ reason: 'second', decision: 'refused', status: 403 }));
        expect(second).toMatchObject({ seq: 2, prevHash: first.hash });
        await expectChainIntact(ctx.store);
      });

      it('returns rows exactly as written (metadata, attribution, nulls, unicode, large numbers)', async () => {
        const written = entry({
          at: NOW + 123,
          vaultKeyId: 'abcdefghijklmnop',
          rootKeyId: 'qrstuvwxyz234567',
          metadata: { team: 'billing', 'z.last': 'é "q" \\ ☃ 𝄞 \u0001\t\n\u007f\u2028', a_first: '' },
          attribution: { agent: 'planner', 'run-id': 'run_1', tool: 'stripe.create' },
          status: 201,
          reason: null,
          reservedMicros: 999_999_999_999_999,
          settledMicros: 123_456_789_012,
          upstreamRequestId: null,
          idempotencyKey: "idem-☃-'quoted'-$$-\\",
          latencyMs: 86_400_000,
        });
        const record = await ctx.store.appendAudit(written);
        const [row] = await ctx.store.queryAudit({ afterSeq: record.seq - 1, limit: 1 });
        expect(row).toEqual(record);
        expect(row).toMatchObject(written);
        expect(row!.hash).toBe(auditHash(row!.prevHash, written));
      });

      it('keeps every chain linear under concurrent appends from two instances', async () => {
        const peer = await ctx.peer();
        const root = makeKey({ daily: 1000 * USD });
        await insert(ctx.store, root);
        const work: Promise<unknown>[] = [];
        for (let i = 0; i < 150; i++) {
          const store = i % 2 ? ctx.store : peer;
          if (i % 3 === 0) {
            work.push(
              store
                .admit({ keyChain: [root.id], amountMicros: USD, now: NOW })
                .then((a) => store.settle({ reservationId: ok(a).reservationId, kind: 'settled', actualMicros: USD, audit: entry({ vaultKeyId: root.id, reason: `settle-${i}` }) })),
            );
          } else {
            work.push(store.appendAudit(entry({ decision: 'refused', status: 403, reason: `refusal-${i}` })));
          }
        }
        await Promise.all(work);
        const rows = await expectChainIntact(ctx.store);
        expect(new Set(rows.map((r) => r.reason)).size).toBe(rows.length);
      });

      describe('filters', () => {
        const tag = `f${Math.random().toString(36).slice(2, 8)}`;
        let base = 0;
        beforeAll(async () => {
          const head = await ctx.store.queryAudit({ limit: 1 });
          base = head[0]?.seq ?? 0;
          const rows: Partial<AuditEntry>[] = [
            { at: NOW - 3000, vaultKeyId: 'keyaaaaaaaaaaaaa', rootKeyId: 'rootaaaaaaaaaaaa', metadata: { tag, team: 'a' }, decision: 'allowed' },
            { at: NOW - 2000, vaultKeyId: 'keybbbbbbbbbbbbb', rootKeyId: 'rootaaaaaaaaaaaa', metadata: { tag, team: 'b' }, decision: 'refused', status: 402 },
            { at: NOW - 1000, vaultKeyId: 'keyaaaaaaaaaaaaa', rootKeyId: 'rootaaaaaaaaaaaa', metadata: { tag, team: 'a' }, decision: 'refused', status: 429 },
            { at: NOW, vaultKeyId: 'keyccccccccccccc', rootKeyId: 'rootcccccccccccc', metadata: { tag }, decision: 'allowed' },
          ];
          for (const row of rows) await ctx.store.appendAudit(entry(row));
        });
        const seqs = async (filter: Parameters<Store['queryAudit']>[0]) => (await ctx.store.queryAudit({ afterSeq: base, ...filter })).map((r) => r.seq - base);

        it('newest first, with a limit', async () => {
          expect(await seqs({})).toEqual([4, 3, 2, 1]);
          expect(await seqs({ limit: 2 })).toEqual([4, 3]);
        });
        it('by key, root, decision and metadata', async () => {
          expect(await seqs({ vaultKeyId: 'keyaaaaaaaaaaaaa' })).toEqual([3, 1]);
          expect(await seqs({ rootKeyId: 'rootaaaaaaaaaaaa' })).toEqual([3, 2, 1]);
          expect(await seqs({ decision: 'refused' })).toEqual([3, 2]);
          expect(await seqs({ decision: 'allowed', rootKeyId: 'rootaaaaaaaaaaaa' })).toEqual([1]);
          expect(await seqs({ metadata: { tag, team: 'a' } })).toEqual([3, 1]);
          expect(await seqs({ metadata: { tag } })).toEqual([4, 3, 2, 1]);
          expect(await ctx.store.queryAudit({ metadata: { tag, team: 'nobody' } })).toEqual([]);
        });
        it('since (inclusive) and until (exclusive)', async () => {
          expect(await seqs({ since: NOW - 2000 })).toEqual([4, 3, 2]);
          expect(await seqs({ until: NOW - 1000 })).toEqual([2, 1]);
          expect(await seqs({ since: NOW - 2000, until: NOW })).toEqual([3, 2]);
        });
        it('afterSeq tails the log', async () => {
          expect(await seqs({ afterSeq: base + 2 })).toEqual([4, 3]);
          expect(await ctx.store.queryAudit({ afterSeq: base + 4 })).toEqual([]);
        });
        it('auditChain pages one chain in seq order', async () => {
          // the chain this store appended the four rows to (a peer may have a chain of its own)
          let chainId = '';
          for (const id of await ctx.store.auditChainIds()) if ((await ctx.store.auditChain(id, base, 1))[0]?.seq === base + 1) chainId = id;
          const page = await ctx.store.auditChain(chainId, base, 3);
          expect(page.map((r) => r.seq - base)).toEqual([1, 2, 3]);
          expect((await ctx.store.auditChain(chainId, base + 3, 100)).map((r) => r.seq - base)).toEqual([4]);
          expect(await ctx.store.auditChain('no such chain', 0, 100)).toEqual([]);
        });
      });

      it('refuses to rewrite an audit row', async () => {
        const record = await ctx.store.appendAudit(entry({ reason: 'keep me' }));
        await expect(ctx.handle.attemptAuditRewrite(record.seq)).rejects.toThrow(/append-only/);
        const [row] = await ctx.store.queryAudit({ afterSeq: record.seq - 1, limit: 1 });
        expect(row).toEqual(record);
      });
    });

    describe('audit tampering', () => {
      const ctx = useStore(makeStore);

      it('verification fails at the tampered row', async () => {
        const records: AuditRecord[] = [];
        for (let i = 0; i < 5; i++) records.push(await ctx.store.appendAudit(entry({ reason: `row-${i}`, settledMicros: i })));
        await expectChainIntact(ctx.store);
        await ctx.handle.tamperAudit(records[2]!.seq);
        expect(await verifyAuditLog(ctx.store, 2)).toMatchObject({ ok: false, brokenAtSeq: records[2]!.seq, reason: 'row content does not match its hash' });
      });
    });

    describe('audit chains of several instances', () => {
      const ctx = useStore(makeStore);

      it('two instances appending at once: every row verifies, and a row altered in either chain is found', async () => {
        const [first, second] = await ctx.instances(2);
        const appended = await Promise.all(
          Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? first! : second!).appendAudit(entry({ reason: `both-${i}`, settledMicros: i }))),
        );
        const rows = await expectChainIntact(ctx.store);
        expect(rows.filter((row) => row.reason?.startsWith('both-')).map((row) => row.reason).sort()).toEqual(appended.map((row) => row.reason).sort());
        // the last row the second instance wrote: the end of whichever chain it appends to
        const victim = appended[39]!;
        await ctx.handle.tamperAudit(victim.seq);
        expect(await verifyAuditLog(ctx.store)).toMatchObject({ ok: false, brokenAtSeq: victim.seq });
      });
    });

    describe('spend queries', () => {
      const ctx = useStore(makeStore);
      const day1 = NOW;
      const day2 = NOW + DAY_MS;
      const day3 = NOW + 2 * DAY_MS;
      const rootA = makeKey({ metadata: { team: 'a' } });
      const childA = makeKey({ parent: rootA, metadata: { team: 'a', agent: 'x' } });
      const rootB = makeKey({ vendor: 'twilio', metadata: { team: 'b' } });
      const rootN = makeKey({ metadata: {} });

      beforeAll(async () => {
        await insert(ctx.store, rootA, childA, rootB, rootN);
        const spend = async (keys: VaultKeyRecord[], amount: number, now: number, end?: { kind: SettlementKind; actual: number }) => {
          const admission = ok(await ctx.store.admit({ keyChain: chainOf(...keys), amountMicros: amount, now }));
          if (end) await ctx.store.settle({ reservationId: admission.reservationId, kind: end.kind, actualMicros: end.actual, audit: entry() });
        };
        await spend([rootA], 10 * USD, day1, { kind: 'settled', actual: 9 * USD }); // 9
        await spend([childA, rootA], 5 * USD, day1); // held: 5
        await spend([childA, rootA], 5 * USD, day2, { kind: 'released', actual: 0 }); // 0, still a request
        await spend([rootB], 2 * USD, day2, { kind: 'kept', actual: 0 }); // 2
        await spend([rootN], 1 * USD, day1, { kind: 'settled', actual: 1 * USD }); // 1
        await spend([rootN], 100 * USD, day3, { kind: 'settled', actual: 100 * USD }); // outside the range
      });

      const range = { fromDay: utcDay(day1), toDay: utcDay(day2) };

      it('by vault key', async () => {
        expect(await ctx.store.spend({ groupBy: { by: 'vault_key' }, ...range })).toEqual([
          { group: rootA.id, micros: 9 * USD, requests: 1 },
          { group: childA.id, micros: 5 * USD, requests: 2 },
          { group: rootB.id, micros: 2 * USD, requests: 1 },
          { group: rootN.id, micros: 1 * USD, requests: 1 },
        ]);
      });

      it('by root', async () => {
        expect(await ctx.store.spend({ groupBy: { by: 'root' }, ...range })).toEqual([
          { group: rootA.id, micros: 14 * USD, requests: 3 },
          { group: rootB.id, micros: 2 * USD, requests: 1 },
          { group: rootN.id, micros: 1 * USD, requests: 1 },
        ]);
      });

      it('by vendor', async () => {
        expect(await ctx.store.spend({ groupBy: { by: 'vendor' }, ...range })).toEqual([
          { group: 'stripe', micros: 15 * USD, requests: 4 },
          { group: 'twilio', micros: 2 * USD, requests: 1 },
        ]);
      });

      it('by a metadata field (keys without it group as null)', async () => {
        expect(await ctx.store.spend({ groupBy: { by: 'metadata', field: 'team' }, ...range })).toEqual([
          { group: 'a', micros: 14 * USD, requests: 3 },
          { group: 'b', micros: 2 * USD, requests: 1 },
          { group: null, micros: 1 * USD, requests: 1 },
        ]);
        expect(await ctx.store.spend({ groupBy: { by: 'metadata', field: 'agent' }, ...range })).toEqual([
          { group: null, micros: 12 * USD, requests: 3 },
          { group: 'x', micros: 5 * USD, requests: 2 },
        ]);
        await expect(ctx.store.spend({ groupBy: { by: 'metadata', field: "x') OR 1=1 --" }, ...range })).rejects.toThrow(/invalid metadata field/);
      });

      it('a single day, and a range that includes the third day', async () => {
        expect(await ctx.store.spend({ groupBy: { by: 'vendor' }, fromDay: utcDay(day2), toDay: utcDay(day2) })).toEqual([
          { group: 'twilio', micros: 2 * USD, requests: 1 },
          { group: 'stripe', micros: 0, requests: 1 },
        ]);
        const all = await ctx.store.spend({ groupBy: { by: 'root' }, fromDay: utcDay(day1), toDay: utcDay(day3) });
        expect(all[0]).toEqual({ group: rootN.id, micros: 101 * USD, requests: 2 });
        expect(await ctx.store.spend({ groupBy: { by: 'root' }, fromDay: '2001-01-01', toDay: '2001-01-02' })).toEqual([]);
      });

      it('per-day history of a key', async () => {
        expect(await ctx.store.spendByDay(rootA.id, utcDay(day1), utcDay(day3))).toEqual([
          { day: utcDay(day1), micros: 14 * USD },
          { day: utcDay(day2), micros: 0 },
        ]);
        expect(await ctx.store.spendByDay(rootN.id, utcDay(day2), utcDay(day3))).toEqual([{ day: utcDay(day3), micros: 100 * USD }]);
      });
    });

    describe('spend by the vendor of each request (one key, several vendors)', () => {
      const ctx = useStore(makeStore);

      it('splits settled amounts by the audit row vendor, counts a price correction as its difference, and leaves out refusals and other days', async () => {
        const mixed = makeKey();
        await insert(ctx.store, mixed);
        const settle = async (vendor: string, micros: number, at = NOW) => {
          const admission = ok(await ctx.store.admit({ keyChain: chainOf(mixed), amountMicros: micros, now: at }));
          await ctx.store.settle({ reservationId: admission.reservationId, kind: 'settled', actualMicros: micros, audit: entry({ at, vendor, vaultKeyId: mixed.id, decision: 'allowed', settledMicros: micros, reservedMicros: micros }) });
        };
        await settle('openai', 250);
        await settle('openai', 750);
        await settle('stripe', 5 * USD);
        await settle('stripe', 9 * USD, NOW + DAY_MS); // the next day
        await ctx.store.appendAudit(entry({ vendor: 'stripe', decision: 'refused', reason: 'keyleash_daily_cap_reached' }));
        await ctx.store.appendAudit(entry({ vendor: 'twilio', decision: 'allowed', reason: 'price_revealed', reservedMicros: 3000, settledMicros: 2000 }));
        expect(await ctx.store.spend({ groupBy: { by: 'request_vendor' }, fromDay: TODAY, toDay: TODAY })).toEqual([
          { group: 'stripe', micros: 5 * USD, requests: 1 },
          { group: 'openai', micros: 1000, requests: 2 },
          { group: 'twilio', micros: -1000, requests: 0 },
        ]);
      });
    });
  });
}
