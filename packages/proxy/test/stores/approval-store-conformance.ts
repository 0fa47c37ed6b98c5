/**
 * The approvals table of every store: one approval per (key, Idempotency-Key) however many
 * requests race to claim it on several stores, and each transition made by exactly one caller.
 */
import type { NewApproval } from '@keyleash/core';
import { describe, expect, it } from 'vitest';
import type { useStore } from './store-conformance.ts';

const NOW = Date.UTC(2030, 0, 15, 12, 0, 0);
let counter = 0;

function approval(overrides: Partial<NewApproval> = {}): NewApproval {
  counter++;
  return {
    id: `apr_${process.pid}_${counter}_${Math.random().toString(36).slice(2)}`,
    keyId: `apkey${counter}`,
    keyChain: [`apkey${counter}`],
    idempotencyKey: `idem-${counter}`,
    fingerprint: 'f'.repeat(64),
    reservationId: '',
    amountMicros: 120_000_000,
    vendor: 'stripe',
    method: 'POST',
    path: '/v1/payment_intents',
    metadata: { role: 'x' },
    createdAt: NOW,
    expiresAt: NOW + 60_000,
    ...overrides,
  };
}

export function describeApprovalStoreConformance(ctx: ReturnType<typeof useStore>): void {
  describe('approvals', () => {
    it('one approval per key and Idempotency-Key when 30 claims race on two stores; none without a key collide', async () => {
      const peer = await ctx.handle.openPeer();
      const base = approval();
      const results = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? peer : ctx.store).approvals.createApproval({ ...base, id: `${base.id}_${i}` })));
      expect(results.filter((r) => r.created)).toHaveLength(1);
      const winner = results.find((r) => r.created)!.approval;
      expect(new Set(results.map((r) => r.approval.id))).toEqual(new Set([winner.id]));
      expect(winner).toMatchObject({ status: 'reserving', keyChain: base.keyChain, metadata: base.metadata, fingerprint: base.fingerprint });
      const keyless = await Promise.all([0, 1].map((i) => ctx.store.approvals.createApproval({ ...base, id: `${base.id}_nokey${i}`, idempotencyKey: null })));
      expect(keyless.every((r) => r.created)).toBe(true);
    });

    it('reserving -> pending with its reservation; a discarded claim frees the slot', async () => {
      const first = approval();
      await ctx.store.approvals.createApproval(first);
      expect((await ctx.store.approvals.listApprovals({ status: 'pending' })).map((a) => a.id)).not.toContain(first.id);
      const pending = await ctx.store.approvals.setApprovalReservation(first.id, 'res-1', 99);
      expect(pending).toMatchObject({ status: 'pending', reservationId: 'res-1', amountMicros: 99 });
      expect(await ctx.store.approvals.setApprovalReservation(first.id, 'res-2', 1)).toBeUndefined();
      expect((await ctx.store.approvals.findApproval(first.keyId, first.idempotencyKey!))!.id).toBe(first.id);

      const refused = approval();
      await ctx.store.approvals.createApproval(refused);
      await ctx.store.approvals.discardApproval(refused.id);
      expect(await ctx.store.approvals.getApproval(refused.id)).toBeUndefined();
      expect((await ctx.store.approvals.createApproval({ ...refused, id: `${refused.id}_again` })).created).toBe(true);
    });

    it('approve and deny racing on two stores: exactly one transition happens', async () => {
      const peer = await ctx.handle.openPeer();
      const held = approval();
      await ctx.store.approvals.createApproval(held);
      await ctx.store.approvals.setApprovalReservation(held.id, 'res-x', 5);
      const moves = await Promise.all(
        Array.from({ length: 10 }, (_, i) => (i % 2 ? peer : ctx.store).approvals.transitionApproval(held.id, ['pending'], i % 3 ? 'approved' : 'denied', NOW + i)),
      );
      const won = moves.filter((m) => m !== undefined);
      expect(won).toHaveLength(1);
      const final = (await ctx.store.approvals.getApproval(held.id))!;
      expect(final.status).toBe(won[0]!.status);
      expect(final.decidedAt).not.toBeNull();
    });
  });
}
