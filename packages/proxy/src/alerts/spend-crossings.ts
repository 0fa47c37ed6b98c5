/**
 * After each admission: has today's spend of any key in the chain crossed one of its alert
 * thresholds? Each crossing is recorded with an insert-if-absent on `spend:<key>:<day>:<threshold>`,
 * so however many requests and instances see the crossing at once, exactly one alert exists. The
 * check reads the spend after the reservation committed, so the last of several racing requests
 * always sees their sum; a crossing whose recording failed is recorded by the next request.
 */
import { randomUUID } from 'node:crypto';
import { microsToUsd, thresholdMicros, utcDay, type AlertSettings, type NewAlert, type Store, type VaultKeyRecord } from '@keyleash/core';
import type { Logger } from 'pino';

export class SpendAlerts {
  /** dedupe keys known to be recorded today: skips the spend read once every threshold has fired */
  private known = new Set<string>();
  private knownDay = '';

  constructor(
    private readonly store: Store,
    /** the server-wide settings, for keys whose policy has none */
    private readonly defaults: AlertSettings | undefined,
    private readonly onRecorded: () => void,
    private readonly logger: Logger,
  ) {}

  private settingsOf(key: VaultKeyRecord): AlertSettings | undefined {
    return key.policy.alerts ?? this.defaults;
  }

  async afterAdmission(chain: readonly VaultKeyRecord[], now: number): Promise<void> {
    const day = utcDay(now);
    if (day !== this.knownDay) (this.known = new Set()), (this.knownDay = day);
    const watched = chain.filter((key) => {
      const settings = this.settingsOf(key);
      return settings && key.policy.dailyCapMicros !== null && settings.thresholds.some((t) => !this.known.has(dedupeKey(key.id, day, t)));
    });
    if (watched.length === 0) return;
    try {
      const spend = await this.store.keySpend(
        watched.map((key) => key.id),
        day,
      );
      const crossings: NewAlert[] = [];
      for (const key of watched) {
        const settings = this.settingsOf(key)!;
        const cap = key.policy.dailyCapMicros!;
        const spent = spend.get(key.id)?.dailyMicros ?? 0;
        for (const threshold of settings.thresholds) {
          const dedupe = dedupeKey(key.id, day, threshold);
          if (this.known.has(dedupe) || spent < thresholdMicros(cap, threshold)) continue;
          crossings.push(spendAlert(key, settings, { day, threshold, spent, cap, now, dedupe }));
        }
      }
      if (crossings.length === 0) return;
      const recorded = await this.store.alerts.recordAlerts(crossings);
      for (const crossing of crossings) this.known.add(crossing.dedupeKey);
      for (const alert of recorded) this.logger.info({ alert: alert.id, key: alert.keyId, threshold: alert.threshold }, 'spend alert recorded');
      if (recorded.some((alert) => alert.webhookUrl !== null)) this.onRecorded();
    } catch (error) {
      this.logger.error({ err: error }, 'spend alerts could not be checked or recorded; the next request will try again');
    }
  }
}

function dedupeKey(keyId: string, day: string, threshold: number): string {
  return `spend:${keyId}:${day}:${threshold}`;
}

function spendAlert(
  key: VaultKeyRecord,
  settings: AlertSettings,
  at: { day: string; threshold: number; spent: number; cap: number; now: number; dedupe: string },
): NewAlert {
  const id = `alt_${randomUUID().replaceAll('-', '')}`;
  return {
    id,
    dedupeKey: at.dedupe,
    kind: 'spend_threshold',
    keyId: key.id,
    day: at.day,
    threshold: at.threshold,
    webhookUrl: settings.webhookUrl,
    createdAt: at.now,
    payload: {
      id,
      type: 'spend.threshold_crossed',
      created_at: new Date(at.now).toISOString(),
      data: {
        vault_key_id: key.id,
        root_key_id: key.rootId,
        day: at.day,
        threshold: at.threshold,
        daily_usd_cap: microsToUsd(at.cap),
        spent_usd_today: microsToUsd(at.spent),
        metadata: key.policy.metadata,
      },
    },
  };
}
