import type { ApprovalRecord, ApprovalStatus, ApprovalStore, NewApproval } from '@keyleash/core';
import type pg from 'pg';
import { APPROVAL_INSERT_COLUMNS, newApprovalValues, rowToApproval, type ApprovalRow } from '../approval-rows.ts';
import { POSTGRES_DIALECT } from '../sql-filters.ts';
import { insertUnlessConflictSql } from '../insert-unless-conflict.ts';

/** Held calls in PostgreSQL: every instance sees every decision; transitions are single conditional UPDATEs. */
export class PostgresApprovals implements ApprovalStore {
  private readonly sql;

  constructor(
    private readonly pool: pg.Pool,
    table: string,
  ) {
    this.sql = {
      insert: insertUnlessConflictSql(POSTGRES_DIALECT, table, APPROVAL_INSERT_COLUMNS, ['key_id', 'idempotency_key']),
      byId: `SELECT * FROM ${table} WHERE id = $1`,
      byIdempotency: `SELECT * FROM ${table} WHERE key_id = $1 AND idempotency_key = $2`,
      transition: `UPDATE ${table} SET status = $1, decided_at = coalesce(decided_at, $2) WHERE id = $3 AND status = ANY($4::text[]) RETURNING *`,
      reserve: `UPDATE ${table} SET reservation_id = $1, amount_micros = $2, status = 'pending' WHERE id = $3 AND status = 'reserving' RETURNING *`,
      discard: `DELETE FROM ${table} WHERE id = $1 AND status = 'reserving'`,
      list: `SELECT * FROM ${table} WHERE ($1::text IS NULL OR status = $1) ORDER BY created_at DESC, id DESC LIMIT $2`,
    };
  }

  async createApproval(approval: NewApproval): Promise<{ created: boolean; approval: ApprovalRecord }> {
    const { rows } = await this.pool.query<ApprovalRow>(this.sql.insert, newApprovalValues(approval));
    if (rows[0]) return { created: true, approval: rowToApproval(rows[0]) };
    return { created: false, approval: (await this.findApproval(approval.keyId, approval.idempotencyKey!))! };
  }

  async setApprovalReservation(id: string, reservationId: string, amountMicros: number): Promise<ApprovalRecord | undefined> {
    const { rows } = await this.pool.query<ApprovalRow>(this.sql.reserve, [reservationId, amountMicros, id]);
    return rows[0] && rowToApproval(rows[0]);
  }

  async discardApproval(id: string): Promise<void> {
    await this.pool.query(this.sql.discard, [id]);
  }

  async getApproval(id: string): Promise<ApprovalRecord | undefined> {
    const { rows } = await this.pool.query<ApprovalRow>(this.sql.byId, [id]);
    return rows[0] && rowToApproval(rows[0]);
  }

  async findApproval(keyId: string, idempotencyKey: string): Promise<ApprovalRecord | undefined> {
    const { rows } = await this.pool.query<ApprovalRow>(this.sql.byIdempotency, [keyId, idempotencyKey]);
    return rows[0] && rowToApproval(rows[0]);
  }

  async transitionApproval(id: string, from: readonly ApprovalStatus[], to: ApprovalStatus, now: number): Promise<ApprovalRecord | undefined> {
    const { rows } = await this.pool.query<ApprovalRow>(this.sql.transition, [to, now, id, from]);
    return rows[0] && rowToApproval(rows[0]);
  }

  async listApprovals(filter: { status?: ApprovalStatus; limit?: number } = {}): Promise<ApprovalRecord[]> {
    const { rows } = await this.pool.query<ApprovalRow>(this.sql.list, [filter.status ?? null, Math.min(filter.limit ?? 100, 10_000)]);
    return rows.map(rowToApproval);
  }
}
