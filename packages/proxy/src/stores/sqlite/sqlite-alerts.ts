import type { AlertFilter, AlertRecord, AlertStore, NewAlert } from '@keyleash/core';
import type Database from 'better-sqlite3';
import { ALERT_INSERT_COLUMNS, newAlertValues, rowToAlert, type AlertRow } from '../alert-rows.ts';
import { SQLITE_DIALECT } from '../sql-filters.ts';
import { insertUnlessConflictSql } from '../insert-unless-conflict.ts';

/**
 * Alerts in the SQLite file. Each statement is one atomic write (autocommit, outside the ledger's
 * group commit): "insert unless the dedupe key exists" and "lease the due rows" need nothing more,
 * and several processes on one file serialise on SQLite's write lock.
 */
export class SqliteAlerts implements AlertStore {
  private readonly insert: Database.Statement;
  private readonly claim: Database.Statement;
  private readonly delivered: Database.Statement;
  private readonly failed: Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.insert = db.prepare(insertUnlessConflictSql(SQLITE_DIALECT, 'alerts', ALERT_INSERT_COLUMNS, ['dedupe_key']));
    this.claim = db.prepare(`UPDATE alerts SET lease_until = @leaseUntil WHERE id IN (
        SELECT id FROM alerts WHERE status = 'pending' AND next_attempt_at <= @now AND (lease_until IS NULL OR lease_until <= @now)
        ORDER BY next_attempt_at LIMIT @limit) RETURNING *`);
    this.delivered = db.prepare(`UPDATE alerts SET status = 'delivered', delivered_at = ?, attempts = attempts + 1, lease_until = NULL, last_error = NULL WHERE id = ?`);
    this.failed = db.prepare(`UPDATE alerts SET status = CASE WHEN @next IS NULL THEN 'failed' ELSE 'pending' END,
        next_attempt_at = coalesce(@next, next_attempt_at), attempts = attempts + 1, lease_until = NULL, last_error = @error WHERE id = @id`);
  }

  async recordAlerts(alerts: readonly NewAlert[]): Promise<AlertRecord[]> {
    const recorded: AlertRecord[] = [];
    for (const alert of alerts) {
      const row = this.insert.get(...newAlertValues(alert)) as AlertRow | undefined;
      if (row) recorded.push(rowToAlert(row));
    }
    return recorded;
  }

  async claimDueAlerts(now: number, limit: number, leaseMs: number): Promise<AlertRecord[]> {
    return (this.claim.all({ now, limit, leaseUntil: now + leaseMs }) as AlertRow[]).map(rowToAlert);
  }

  async markAlertDelivered(id: string, now: number): Promise<void> {
    this.delivered.run(now, id);
  }

  async markAlertAttemptFailed(id: string, error: string, nextAttemptAt: number | null): Promise<void> {
    this.failed.run({ id, error: error.slice(0, 500), next: nextAttemptAt });
  }

  async listAlerts(filter: AlertFilter = {}): Promise<AlertRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.keyId) (where.push('key_id = ?'), params.push(filter.keyId));
    if (filter.kind) (where.push('kind = ?'), params.push(filter.kind));
    const sql = `SELECT * FROM alerts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...params, Math.min(filter.limit ?? 100, 10_000)) as AlertRow[]).map(rowToAlert);
  }
}
