/**
 * Delivers recorded alerts to their webhooks in the background: claims due alerts with a lease (so
 * several instances never send one alert at the same time), POSTs each signed, and on failure
 * retries with exponential backoff until `maxAttempts`. Delivery is at least once: an instance that
 * dies between the receiver's 2xx and recording it sends again after the lease, so receivers
 * de-duplicate on the alert's `id` (also in the `Keyleash-Alert-Id` header).
 */
import type { AlertRecord, AlertStore } from '@keyleash/core';
import type { Logger } from 'pino';
import { SIGNATURE_HEADER, signWebhook } from './webhook-signature.ts';

export interface AlertSenderOptions {
  store: AlertStore;
  /** KEYLEASH_WEBHOOK_SECRET; without it nothing is sent (unsigned alerts would be forgeable) */
  secret: string | undefined;
  logger: Logger;
  clock: () => number;
  /** the first retry's delay; each further one doubles, up to an hour */
  retryBaseMs?: number;
  maxAttempts?: number;
  pollMs?: number;
  timeoutMs?: number;
}

const MAX_BACKOFF_MS = 3_600_000;

export class AlertSender {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  private readonly retryBaseMs: number;
  private readonly maxAttempts: number;
  private readonly pollMs: number;
  private readonly timeoutMs: number;

  constructor(private readonly options: AlertSenderOptions) {
    this.retryBaseMs = options.retryBaseMs ?? 1_000;
    this.maxAttempts = options.maxAttempts ?? 12;
    this.pollMs = options.pollMs ?? 1_000;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** a new alert was recorded: send now rather than at the next poll */
  wake(): void {
    if (this.stopped) return;
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => {
        this.running = undefined;
        if (!this.stopped) this.schedule(this.again ? 0 : this.pollMs);
        this.again = false;
      });
    }, delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      const now = this.options.clock();
      const due = await this.options.store.claimDueAlerts(now, 20, this.timeoutMs * 3);
      await Promise.all(due.map((alert) => this.deliver(alert)));
    } catch (error) {
      this.options.logger.error({ err: error }, 'alert delivery: the store could not be read; retrying at the next poll');
    }
  }

  private async deliver(alert: AlertRecord): Promise<void> {
    const { store, secret, logger, clock } = this.options;
    let failure: string;
    if (!secret) {
      failure = 'no KEYLEASH_WEBHOOK_SECRET is set, so the alert cannot be signed; set it and restart';
    } else {
      const body = JSON.stringify(alert.payload);
      try {
        const answer = await fetch(alert.webhookUrl!, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'keyleash-alerts',
            'keyleash-alert-id': alert.id,
            [SIGNATURE_HEADER]: signWebhook(secret, body, Math.floor(clock() / 1000)),
          },
          body,
          redirect: 'manual',
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        await answer.body?.cancel();
        if (answer.status >= 200 && answer.status < 300) {
          await store.markAlertDelivered(alert.id, clock());
          return;
        }
        failure = `the webhook answered ${answer.status}`;
      } catch (error) {
        failure = `the webhook could not be reached (${(error as Error).message})`;
      }
    }
    const attempts = alert.attempts + 1;
    const next = attempts >= this.maxAttempts ? null : clock() + Math.min(this.retryBaseMs * 2 ** (attempts - 1), MAX_BACKOFF_MS);
    logger.warn({ alert: alert.id, attempts, failure, retry_at: next }, 'alert delivery failed');
    await store.markAlertAttemptFailed(alert.id, failure, next);
  }
}
