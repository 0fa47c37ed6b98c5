import type { AlertKind, AlertRecord, AlertStatus } from './alert-store.ts';

/** One alert as `GET /api/alerts` shows it. */
export interface AlertJson {
  id: string;
  kind: AlertKind;
  vault_key_id: string;
  day: string;
  threshold: number | null;
  status: AlertStatus;
  attempts: number;
  created_at: string;
  delivered_at: string | null;
  next_attempt_at: string | null;
  last_error: string | null;
  webhook_url: string | null;
  payload: Record<string, unknown>;
}

export function alertToJson(alert: AlertRecord): AlertJson {
  return {
    id: alert.id,
    kind: alert.kind,
    vault_key_id: alert.keyId,
    day: alert.day,
    threshold: alert.threshold,
    status: alert.status,
    attempts: alert.attempts,
    created_at: new Date(alert.createdAt).toISOString(),
    delivered_at: alert.deliveredAt === null ? null : new Date(alert.deliveredAt).toISOString(),
    next_attempt_at: alert.status === 'pending' ? new Date(alert.nextAttemptAt).toISOString() : null,
    last_error: alert.lastError,
    webhook_url: alert.webhookUrl,
    payload: alert.payload,
  };
}
