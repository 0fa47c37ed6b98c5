/**
 * How a `postgres://…` store URL becomes a connection pool.
 *
 * keyleash reads two query parameters of its own and removes them before the rest of the URL
 * goes to `pg` (which passes libpq-style parameters such as `sslmode`, `application_name` or
 * `options` through unchanged):
 *
 * - `schema=<name>`: keyleash's tables live in this schema, created on first start when missing.
 *   Every statement names it explicitly (`"name".table`), so nothing depends on session state:
 *   it works behind PgBouncer in transaction mode, and one database can hold several keyleash
 *   deployments (or one schema per test run). Without it, keyleash uses the connection's
 *   `current_schema()`: `public`, or whatever `options=-c search_path=…` (or the role's default
 *   search_path) selects; that schema must already exist.
 * - `pool_max=<n>`: connections in this instance's pool (default 10).
 * - `prepared_statements=false`: never use named prepared statements (keyleash prepares its
 *   per-request key lookup once per connection). Needed behind PgBouncer in transaction mode
 *   older than 1.21, or with its `max_prepared_statements = 0`.
 */
import pg from 'pg';

export const DEFAULT_POOL_MAX = 10;

export interface PostgresLocation {
  /** the URL without keyleash's own parameters, for `pg` */
  connectionString: string;
  /** from `?schema=`; undefined means "the connection's current_schema()" */
  schema: string | undefined;
  poolMax: number;
  /** may keyleash use named (server-side) prepared statements? */
  preparedStatements: boolean;
  /** host/database/schema without credentials, for messages */
  display: string;
}

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const OWN_PARAMETERS = new Set(['schema', 'pool_max', 'prepared_statements']);

export function isPostgresUrl(url: string): boolean {
  return url.startsWith('postgres://') || url.startsWith('postgresql://');
}

export function parsePostgresUrl(url: string): PostgresLocation {
  if (!isPostgresUrl(url)) throw new Error('a PostgreSQL store URL starts with postgres:// or postgresql://');
  const queryAt = url.indexOf('?');
  const base = queryAt === -1 ? url : url.slice(0, queryAt);
  const kept: string[] = [];
  let schema: string | undefined;
  let poolMax = DEFAULT_POOL_MAX;
  let preparedStatements = true;
  // Split by hand rather than through URLSearchParams, so the parameters passed on to pg keep
  // their exact encoding (e.g. `options=-c%20search_path%3Dx`).
  for (const pair of queryAt === -1 ? [] : url.slice(queryAt + 1).split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decodeURIComponent(eq === -1 ? pair : pair.slice(0, eq));
    const value = eq === -1 ? '' : decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, ' '));
    if (!OWN_PARAMETERS.has(name)) {
      kept.push(pair);
      continue;
    }
    if (name === 'schema') {
      if (!SCHEMA_NAME.test(value)) throw new Error(`--store …?schema=${value}: a schema name is 1-63 of A-Z a-z 0-9 _ and does not start with a digit`);
      schema = value;
    } else if (name === 'prepared_statements') {
      if (value !== 'true' && value !== 'false') throw new Error(`--store …?prepared_statements=${value}: true or false`);
      preparedStatements = value === 'true';
    } else {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1 || n > 1000) throw new Error(`--store …?pool_max=${value}: a whole number from 1 to 1000`);
      poolMax = n;
    }
  }
  let display: string;
  try {
    const parsed = new URL(base);
    display = `${parsed.hostname || 'localhost'}${parsed.port ? `:${parsed.port}` : ''}${parsed.pathname || '/'}`;
  } catch {
    throw new Error('--store: the postgres:// URL is not valid');
  }
  if (schema) display += ` (schema ${schema})`;
  return { connectionString: kept.length ? `${base}?${kept.join('&')}` : base, schema, poolMax, preparedStatements, display };
}

/** BIGINT columns hold micro-USD and epoch milliseconds: both far below 2^53, so plain numbers. */
function parseInt8(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new RangeError(`BIGINT ${value} does not fit a JavaScript number`);
  return n;
}

const typeParsers = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? parseInt8 : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

export function createPool(location: PostgresLocation): pg.Pool {
  const pool = new pg.Pool({
    connectionString: location.connectionString,
    max: location.poolMax,
    application_name: 'keyleash',
    types: typeParsers,
    // a database that does not answer must fail the request (fail closed), not hang it
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
  });
  // An idle pooled connection that breaks (server restart, network) is dropped by the pool and
  // replaced on the next checkout; without a listener the 'error' event would end the process.
  pool.on('error', (error) => {
    process.emitWarning(`keyleash: an idle PostgreSQL connection failed and was dropped: ${error.message}`);
  });
  return pool;
}

/** `"name"` for an identifier already checked against SCHEMA_NAME (or read from the server). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
