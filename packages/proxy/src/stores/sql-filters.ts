/**
 * The WHERE clauses of the list/filter queries, built once for both SQL stores. Only two things
 * differ between the dialects: how a parameter is written, and how a metadata field is read from
 * the JSON text column. Metadata field names are re-validated before they touch SQL.
 */
import type { AuditFilter, KeyFilter, SpendGrouping, SpendQuery } from '@keyleash/core';
import { assertSafeMetadataField } from './rows.ts';

export interface SqlDialect {
  /** the placeholder of the parameter just pushed at 1-based position `n` */
  param(n: number): string;
  /** an expression reading `field` from the JSON text `column`; may push parameters */
  jsonField(column: string, field: string, params: unknown[]): string;
}

export const SQLITE_DIALECT: SqlDialect = {
  param: () => '?',
  // json_extract takes the path as a literal; the field name was validated to [A-Za-z0-9_.-]
  jsonField: (column, field) => `json_extract(${column}, '$."${field}"')`,
};

export const POSTGRES_DIALECT: SqlDialect = {
  param: (n) => `$${n}`,
  jsonField: (column, field, params) => {
    params.push(field);
    return `(${column}::jsonb ->> $${params.length})`;
  },
};

export interface Where {
  /** '' or `WHERE …` */
  sql: string;
  params: unknown[];
}

class WhereBuilder {
  readonly clauses: string[] = [];

  constructor(
    private readonly dialect: SqlDialect,
    readonly params: unknown[] = [],
  ) {}

  equals(expression: string, value: unknown): void {
    this.compare(expression, '=', value);
  }

  compare(expression: string, operator: '=' | '>=' | '<' | '>', value: unknown): void {
    this.params.push(value);
    this.clauses.push(`${expression} ${operator} ${this.dialect.param(this.params.length)}`);
  }

  metadata(column: string, filter: Record<string, string> | undefined): void {
    for (const [field, value] of Object.entries(filter ?? {})) {
      assertSafeMetadataField(field);
      this.equals(this.dialect.jsonField(column, field, this.params), value);
    }
  }

  build(): Where {
    return { sql: this.clauses.length ? `WHERE ${this.clauses.join(' AND ')}` : '', params: this.params };
  }
}

export function keyFilterWhere(filter: KeyFilter, dialect: SqlDialect): Where {
  const where = new WhereBuilder(dialect);
  if (filter.rootId) where.equals('root_id', filter.rootId);
  if (filter.vendor) where.equals('vendor', filter.vendor);
  where.metadata('metadata_json', filter.metadata);
  return where.build();
}

export function auditFilterWhere(filter: AuditFilter, dialect: SqlDialect): Where & { limit: number } {
  const where = new WhereBuilder(dialect);
  if (filter.vaultKeyId) where.equals('vault_key_id', filter.vaultKeyId);
  if (filter.rootKeyId) where.equals('root_key_id', filter.rootKeyId);
  if (filter.since !== undefined) where.compare('at', '>=', filter.since);
  if (filter.until !== undefined) where.compare('at', '<', filter.until);
  if (filter.decision) where.equals('decision', filter.decision);
  if (filter.afterSeq !== undefined) where.compare('seq', '>', filter.afterSeq);
  where.metadata('metadata_json', filter.metadata);
  return { ...where.build(), limit: Math.min(Math.max(Math.trunc(filter.limit ?? 100) || 100, 1), 10_000) };
}

/** The grouping expression of a spend query over reservations `r` joined with keys `k`. */
export function spendGroupExpression(groupBy: SpendGrouping, dialect: SqlDialect, params: unknown[]): string {
  switch (groupBy.by) {
    case 'vault_key':
      return 'r.key_id';
    case 'root':
      return 'r.root_id';
    case 'vendor':
      return 'k.vendor';
    case 'request_vendor':
      throw new Error('request_vendor spend is read from the audit log: use requestVendorSpendSql');
    case 'metadata':
      assertSafeMetadataField(groupBy.field);
      return dialect.jsonField('k.metadata_json', groupBy.field, params);
  }
}

const DAY_MS = 86_400_000;

/** the instants (epoch ms) a range of UTC days covers: from the first's midnight, up to but not including the midnight after the last */
export function dayRangeMs(fromDay: string, toDay: string): { from: number; until: number } {
  return { from: Date.parse(`${fromDay}T00:00:00Z`), until: Date.parse(`${toDay}T00:00:00Z`) + DAY_MS };
}

/**
 * Spend per vendor of the request, from the audit log: a key covering several vendors is split by
 * where each request went. Every admitted request's row counts its settled amount; a price
 * correction row (`price_revealed`) counts the difference it made and is not a request.
 */
export function requestVendorSpendSql(query: Pick<SpendQuery, 'fromDay' | 'toDay'>, dialect: SqlDialect, auditTable: string): { sql: string; params: unknown[] } {
  const range = dayRangeMs(query.fromDay, query.toDay);
  const params = [range.from, range.until];
  const sql = `SELECT vendor AS grp,
      SUM(CASE WHEN reason = 'price_revealed' THEN settled_micros - reserved_micros ELSE settled_micros END) AS micros,
      SUM(CASE WHEN reason = 'price_revealed' THEN 0 ELSE 1 END) AS requests
    FROM ${auditTable} WHERE decision = 'allowed' AND at >= ${dialect.param(1)} AND at < ${dialect.param(2)} GROUP BY vendor`;
  return { sql, params };
}
