/**
 * The alert table of every store: one alert per dedupe key whoever races to record it (several
 * stores on one database, as several keyleash instances), and the delivery outbox's lease, so two
 * senders never hold the same alert at once.
 */
import type { NewAlert } from '@keyleash/core';
import { describe, expect, it } from 'vitest';
import type { useStore } from './store-conformance.ts';

const NOW = Date.UTC(2030, 0, 15, 12, 0, 0);
let counter = 0;

function alert(overrides: Partial<NewAlert> = {}): NewAlert {
  counter++;
  return {
    id: `alt_${process.pid}_${counter}_${Math.random().toString(36).slice(2)}`,
    dedupeKey: `spend:key${counter}:2030-01-15:0.8`,
    kind: 'spend_threshold',
    keyId: `key${counter}`,
    day: '2030-01-15',
    threshold: 0.8,
    webhookUrl: 'http://127.0.0.1:9/hook',
    payload: { type: 'spend.threshold_crossed', data: { spent_usd: 8.5 } },
    createdAt: NOW,
    ...overrides,
  };
}

export function describeAlertStoreConformance(ctx: ReturnType<typeof useStore>): void {
  describe('alerts', () => {
    it('records an alert once per dedupe key, even when 40 inserts race on two stores', async () => {
      const peer = await ctx.handle.openPeer();
      const dedupeKey = `spend:race${counter}:2030-01-15:0.5`;
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => (i % 2 ? peer : ctx.store).alerts.recordAlerts([alert({ dedupeKey, keyId: 'racer', threshold: 0.5 })])),
      );
      const recorded = results.flat();
      expect(recorded).toHaveLength(1);
      expect(recorded[0]).toMatchObject({ dedupeKey, status: 'pending', attempts: 0, deliveredAt: null, threshold: 0.5 });
      expect(await ctx.store.alerts.listAlerts({ keyId: 'racer' })).toHaveLength(1);
    });

    it('an alert with no webhook is recorded but never claimed for sending', async () => {
      const quiet = alert({ webhookUrl: null });
      const [recorded] = await ctx.store.alerts.recordAlerts([quiet]);
      expect(recorded).toMatchObject({ status: 'not_sent', payload: quiet.payload });
      const claimed = await ctx.store.alerts.claimDueAlerts(NOW + 1000, 100, 60_000);
      expect(claimed.map((a) => a.id)).not.toContain(quiet.id);
    });

    it('leases due alerts to one claimer at a time; a failed attempt is retried when due, then delivered', async () => {
      const peer = await ctx.handle.openPeer();
      const due = alert({ createdAt: NOW + 5_000 });
      await ctx.store.alerts.recordAlerts([due]);
      expect((await ctx.store.alerts.claimDueAlerts(NOW + 4_999, 100, 60_000)).map((a) => a.id)).not.toContain(due.id);
      const claims = await Promise.all([ctx.store.alerts.claimDueAlerts(NOW + 5_000, 100, 60_000), peer.alerts.claimDueAlerts(NOW + 5_000, 100, 60_000)]);
      expect(claims.flat().filter((a) => a.id === due.id)).toHaveLength(1);
      // leased: nobody else gets it until the lease ends
      expect((await peer.alerts.claimDueAlerts(NOW + 6_000, 100, 60_000)).map((a) => a.id)).not.toContain(due.id);

      await ctx.store.alerts.markAlertAttemptFailed(due.id, 'receiver answered 500', NOW + 10_000);
      expect((await ctx.store.alerts.claimDueAlerts(NOW + 9_999, 100, 60_000)).map((a) => a.id)).not.toContain(due.id);
      const [again] = (await peer.alerts.claimDueAlerts(NOW + 10_000, 100, 60_000)).filter((a) => a.id === due.id);
      expect(again).toMatchObject({ attempts: 1, lastError: 'receiver answered 500' });
      await peer.alerts.markAlertDelivered(due.id, NOW + 10_050);
      const [listed] = await ctx.store.alerts.listAlerts({ keyId: due.keyId });
      expect(listed).toMatchObject({ status: 'delivered', attempts: 2, deliveredAt: NOW + 10_050, lastError: null });
      expect((await ctx.store.alerts.claimDueAlerts(NOW + 999_999, 100, 60_000)).map((a) => a.id)).not.toContain(due.id);
    });

    it('gives up for good when told there is no next attempt', async () => {
      const doomed = alert();
      await ctx.store.alerts.recordAlerts([doomed]);
      await ctx.store.alerts.markAlertAttemptFailed(doomed.id, 'connection refused', null);
      const [listed] = await ctx.store.alerts.listAlerts({ keyId: doomed.keyId });
      expect(listed).toMatchObject({ status: 'failed', attempts: 1, lastError: 'connection refused' });
      expect((await ctx.store.alerts.claimDueAlerts(NOW + 999_999, 100, 60_000)).map((a) => a.id)).not.toContain(doomed.id);
    });
  });
}
