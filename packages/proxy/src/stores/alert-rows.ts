/** Row <-> domain mapping of recorded alerts, shared by the SQL stores. */
import type { AlertKind, AlertRecord, AlertStatus, NewAlert } from '@keyleash/core';

export interface AlertRow {
  id: string;
  dedupe_key: string;
  kind: string;
  key_id: string;
  day: string;
  threshold: number | null;
  webhook_url: string | null;
  payload_json: string;
  created_at: number | string;
  status: string;
  attempts: number;
  next_attempt_at: number | string;
  delivered_at: number | string | null;
  last_error: string | null;
}

/** The columns of a new alert, in insert order. */
export const ALERT_INSERT_COLUMNS = ['id', 'dedupe_key', 'kind', 'key_id', 'day', 'threshold', 'webhook_url', 'payload_json', 'created_at', 'status', 'next_attempt_at'] as const;

export function newAlertValues(alert: NewAlert): unknown[] {
  return [
    alert.id,
    alert.dedupeKey,
    alert.kind,
    alert.keyId,
    alert.day,
    alert.threshold,
    alert.webhookUrl,
    JSON.stringify(alert.payload),
    alert.createdAt,
    alert.webhookUrl === null ? 'not_sent' : 'pending',
    alert.createdAt,
  ];
}

export function rowToAlert(row: AlertRow): AlertRecord {
  return {
    id: row.id,
    dedupeKey: row.dedupe_key,
    kind: row.kind as AlertKind,
    keyId: row.key_id,
    day: row.day,
    threshold: row.threshold === null ? null : Number(row.threshold),
    webhookUrl: row.webhook_url,
    payload: JSON.parse(row.payload_json) as Record<string, unknown>,
    createdAt: Number(row.created_at),
    status: row.status as AlertStatus,
    attempts: Number(row.attempts),
    nextAttemptAt: Number(row.next_attempt_at),
    deliveredAt: row.delivered_at === null ? null : Number(row.delivered_at),
    lastError: row.last_error,
  };
}

/**
 * The same table in both dialects (BIGINT and DOUBLE PRECISION read as SQLite's INTEGER and REAL);
 * `table` may be schema-qualified, index names may not.
 */
export function alertsTableSql(table: string, real: string): string {
  return `
    CREATE TABLE ${table} (
      id TEXT PRIMARY KEY,
      dedupe_key TEXT NOT NULL UNIQUE,
      kind TEXT NOT NULL,
      key_id TEXT NOT NULL,
      day TEXT NOT NULL,
      threshold ${real},
      webhook_url TEXT,
      payload_json TEXT NOT NULL,
      created_at BIGINT NOT NULL,
      status TEXT NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0,
      next_attempt_at BIGINT NOT NULL,
      lease_until BIGINT,
      delivered_at BIGINT,
      last_error TEXT
    );
    CREATE INDEX alerts_due ON ${table} (status, next_attempt_at);
    CREATE INDEX alerts_key ON ${table} (key_id, created_at);
  `;
}
