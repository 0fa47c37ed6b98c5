/**
 * Recorded alerts and their delivery: a store table with a unique dedupe key, so "one alert per key,
 * day and threshold" holds across concurrent requests and proxy instances (the insert that loses
 * the race records nothing), and an outbox the background sender claims with a lease.
 */
export type AlertKind = 'spend_threshold' | 'approval_pending';
export type AlertStatus = 'pending' | 'delivered' | 'failed' | 'not_sent';

export interface NewAlert {
  id: string;
  /** unique: `spend:<key>:<day>:<threshold>` or `approval:<id>`; a second insert is ignored */
  dedupeKey: string;
  kind: AlertKind;
  keyId: string;
  /** UTC day, YYYY-MM-DD */
  day: string;
  /** the fraction crossed (spend alerts only) */
  threshold: number | null;
  /** null: recorded and listed, not sent */
  webhookUrl: string | null;
  /** the JSON body POSTed to the webhook */
  payload: Record<string, unknown>;
  createdAt: number;
}

export interface AlertRecord extends NewAlert {
  status: AlertStatus;
  attempts: number;
  nextAttemptAt: number;
  deliveredAt: number | null;
  lastError: string | null;
}

export interface AlertFilter {
  keyId?: string;
  kind?: AlertKind;
  /** newest first; default 100 */
  limit?: number;
}

export interface AlertStore {
  /** inserts each alert unless its dedupe key exists; returns only those newly recorded */
  recordAlerts(alerts: readonly NewAlert[]): Promise<AlertRecord[]>;
  /** pending alerts due at `now`, leased to the caller for `leaseMs` so no other instance sends them meanwhile */
  claimDueAlerts(now: number, limit: number, leaseMs: number): Promise<AlertRecord[]>;
  markAlertDelivered(id: string, now: number): Promise<void>;
  /** a failed attempt: retried at `nextAttemptAt`, or `failed` for good when it is null */
  markAlertAttemptFailed(id: string, error: string, nextAttemptAt: number | null): Promise<void>;
  listAlerts(filter?: AlertFilter): Promise<AlertRecord[]>;
}
