import type { ApprovalRecord, ApprovalStatus, ApprovalStore, NewApproval } from '@keyleash/core';
import type Database from 'better-sqlite3';
import { APPROVAL_INSERT_COLUMNS, newApprovalValues, rowToApproval, type ApprovalRow } from '../approval-rows.ts';
import { SQLITE_DIALECT } from '../sql-filters.ts';
import { insertUnlessConflictSql } from '../insert-unless-conflict.ts';

/** Held calls in the SQLite file; each method is one atomic statement (or a read after one). */
export class SqliteApprovals implements ApprovalStore {
  private readonly insert: Database.Statement;
  private readonly byId: Database.Statement;
  private readonly byIdempotency: Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.insert = db.prepare(insertUnlessConflictSql(SQLITE_DIALECT, 'approvals', APPROVAL_INSERT_COLUMNS, ['key_id', 'idempotency_key']));
    this.byId = db.prepare('SELECT * FROM approvals WHERE id = ?');
    this.byIdempotency = db.prepare('SELECT * FROM approvals WHERE key_id = ? AND idempotency_key = ?');
  }

  async createApproval(approval: NewApproval): Promise<{ created: boolean; approval: ApprovalRecord }> {
    const row = this.insert.get(...newApprovalValues(approval)) as ApprovalRow | undefined;
    if (row) return { created: true, approval: rowToApproval(row) };
    return { created: false, approval: rowToApproval(this.byIdempotency.get(approval.keyId, approval.idempotencyKey) as ApprovalRow) };
  }

  async setApprovalReservation(id: string, reservationId: string, amountMicros: number): Promise<ApprovalRecord | undefined> {
    const row = this.db
      .prepare(`UPDATE approvals SET reservation_id = ?, amount_micros = ?, status = 'pending' WHERE id = ? AND status = 'reserving' RETURNING *`)
      .get(reservationId, amountMicros, id) as ApprovalRow | undefined;
    return row && rowToApproval(row);
  }

  async discardApproval(id: string): Promise<void> {
    this.db.prepare(`DELETE FROM approvals WHERE id = ? AND status = 'reserving'`).run(id);
  }

  async getApproval(id: string): Promise<ApprovalRecord | undefined> {
    const row = this.byId.get(id) as ApprovalRow | undefined;
    return row && rowToApproval(row);
  }

  async findApproval(keyId: string, idempotencyKey: string): Promise<ApprovalRecord | undefined> {
    const row = this.byIdempotency.get(keyId, idempotencyKey) as ApprovalRow | undefined;
    return row && rowToApproval(row);
  }

  async transitionApproval(id: string, from: readonly ApprovalStatus[], to: ApprovalStatus, now: number): Promise<ApprovalRecord | undefined> {
    const row = this.db
      .prepare(`UPDATE approvals SET status = ?, decided_at = coalesce(decided_at, ?) WHERE id = ? AND status IN (${from.map(() => '?').join(', ')}) RETURNING *`)
      .get(to, now, id, ...from) as ApprovalRow | undefined;
    return row && rowToApproval(row);
  }

  async listApprovals(filter: { status?: ApprovalStatus; limit?: number } = {}): Promise<ApprovalRecord[]> {
    const limit = Math.min(filter.limit ?? 100, 10_000);
    const rows = filter.status
      ? this.db.prepare('SELECT * FROM approvals WHERE status = ? ORDER BY created_at DESC, id DESC LIMIT ?').all(filter.status, limit)
      : this.db.prepare('SELECT * FROM approvals ORDER BY created_at DESC, id DESC LIMIT ?').all(limit);
    return (rows as ApprovalRow[]).map(rowToApproval);
  }
}
