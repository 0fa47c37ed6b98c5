import type { AlertFilter, AlertRecord, AlertStore, NewAlert } from '@keyleash/core';
import type pg from 'pg';
import { ALERT_INSERT_COLUMNS, newAlertValues, rowToAlert, type AlertRow } from '../alert-rows.ts';
import { POSTGRES_DIALECT } from '../sql-filters.ts';
import { insertUnlessConflictSql } from '../insert-unless-conflict.ts';

/**
 * Alerts in PostgreSQL. The unique dedupe key makes "one alert per key, day and threshold" hold
 * across instances (ON CONFLICT DO NOTHING: the loser of a race records nothing); instances lease
 * due rows with SKIP LOCKED, so two senders never claim the same alert at once.
 */
export class PostgresAlerts implements AlertStore {
  private readonly sql;

  constructor(
    private readonly pool: pg.Pool,
    table: string,
  ) {
    this.sql = {
      table,
      insert: insertUnlessConflictSql(POSTGRES_DIALECT, table, ALERT_INSERT_COLUMNS, ['dedupe_key']),
      claim: `UPDATE ${table} SET lease_until = $3 WHERE id IN (
          SELECT id FROM ${table} WHERE status = 'pending' AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until <= $1)
          ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING *`,
      delivered: `UPDATE ${table} SET status = 'delivered', delivered_at = $1, attempts = attempts + 1, lease_until = NULL, last_error = NULL WHERE id = $2`,
      failed: `UPDATE ${table} SET status = CASE WHEN $3::bigint IS NULL THEN 'failed' ELSE 'pending' END,
          next_attempt_at = coalesce($3::bigint, next_attempt_at), attempts = attempts + 1, lease_until = NULL, last_error = $2 WHERE id = $1`,
    };
  }

  async recordAlerts(alerts: readonly NewAlert[]): Promise<AlertRecord[]> {
    const recorded: AlertRecord[] = [];
    for (const alert of alerts) {
      const { rows } = await this.pool.query<AlertRow>(this.sql.insert, newAlertValues(alert));
      if (rows[0]) recorded.push(rowToAlert(rows[0]));
    }
    return recorded;
  }

  async claimDueAlerts(now: number, limit: number, leaseMs: number): Promise<AlertRecord[]> {
    return (await this.pool.query<AlertRow>(this.sql.claim, [now, limit, now + leaseMs])).rows.map(rowToAlert);
  }

  async markAlertDelivered(id: string, now: number): Promise<void> {
    await this.pool.query(this.sql.delivered, [now, id]);
  }

  async markAlertAttemptFailed(id: string, error: string, nextAttemptAt: number | null): Promise<void> {
    await this.pool.query(this.sql.failed, [id, error.slice(0, 500), nextAttemptAt]);
  }

  async listAlerts(filter: AlertFilter = {}): Promise<AlertRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.keyId) (params.push(filter.keyId), where.push(`key_id = $${params.length}`));
    if (filter.kind) (params.push(filter.kind), where.push(`kind = $${params.length}`));
    params.push(Math.min(filter.limit ?? 100, 10_000));
    const sql = `SELECT * FROM ${this.sql.table} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT $${params.length}`;
    return (await this.pool.query<AlertRow>(sql, params)).rows.map(rowToAlert);
  }
}
