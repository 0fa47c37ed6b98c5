/**
 * One PostgreSQL schema per test run: created with a random name, handed to the code under test
 * as `postgres://…?schema=<name>`, dropped (CASCADE) afterwards. PostgreSQL being down is a
 * failure, never a skip: these tests are what proves caps hold across instances.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

/**
 * The test run's own PostgreSQL (started by global-setup.ts), or the server KEYLEASH_TEST_PG_URL
 * names. Never a default address: a server the machine happens to run is not the suite's.
 */
export const TEST_PG_URL: string = inject('keyleashTestPgUrl');

export interface TestSchema {
  schema: string;
  /** the store URL for keyleash: TEST_PG_URL?schema=<schema> */
  storeUrl: string;
  /** a plain pg client on the test database, for checks behind the store's back */
  sql: pg.Client;
  drop(): Promise<void>;
}

export async function connectTestDatabase(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: TEST_PG_URL, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `PostgreSQL is not reachable at ${TEST_PG_URL} (${error instanceof Error ? error.message : String(error)}). ` +
        'The PostgreSQL store tests do not skip: the run starts its own server (test/postgres/global-setup.ts) unless KEYLEASH_TEST_PG_URL names one.',
    );
  }
  // BIGINT as numbers, as the store reads them
  client.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));
  return client;
}

/**
 * A random schema name, dropped by `drop()`. Left for keyleash to create on first start (that is
 * part of what is tested) unless `precreate`.
 */
export async function createTestSchema(options: { prefix?: string; precreate?: boolean } = {}): Promise<TestSchema> {
  const sql = await connectTestDatabase();
  const schema = `${options.prefix ?? 'kl_test'}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  if (options.precreate) await sql.query(`CREATE SCHEMA "${schema}"`);
  const separator = TEST_PG_URL.includes('?') ? '&' : '?';
  return {
    schema,
    storeUrl: `${TEST_PG_URL}${separator}schema=${schema}`,
    sql,
    async drop() {
      try {
        await sql.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await sql.end();
      }
    },
  };
}
