import type { SqlDialect } from './sql-filters.ts';

/**
 * `INSERT … ON CONFLICT (…) DO NOTHING RETURNING *` over a fixed column list, in either dialect: the
 * insert-if-absent that makes an alert (one per dedupe key) and an approval (one per key and
 * Idempotency-Key) exactly-once across instances. No row back means another writer got there first.
 */
export function insertUnlessConflictSql(dialect: SqlDialect, table: string, columns: readonly string[], conflictColumns: readonly string[]): string {
  const values = columns.map((_, i) => dialect.param(i + 1)).join(', ');
  return `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${values}) ON CONFLICT (${conflictColumns.join(', ')}) DO NOTHING RETURNING *`;
}
