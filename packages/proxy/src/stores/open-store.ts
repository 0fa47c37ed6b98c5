import { resolve } from 'node:path';
import type { Store } from '@keyleash/core';
import { isPostgresUrl } from './postgres/connection.ts';
import { PostgresStore } from './postgres/postgres-store.ts';
import { SqliteStore } from './sqlite/sqlite-store.ts';
import { DEFAULT_STORE_URL } from './default-store-url.ts';

export { DEFAULT_STORE_URL };

/**
 * `sqlite:<path>` (or `sqlite::memory:`) or `postgres://user@host:port/db[?schema=name&pool_max=n]`.
 * Either store runs its pending migrations when opened.
 */
export async function openStore(url: string): Promise<Store> {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    return new SqliteStore(path === ':memory:' ? path : resolve(path));
  }
  if (isPostgresUrl(url)) return PostgresStore.connect(url);
  throw new Error(`--store "${url.replace(/\/\/[^@/]*@/, '//…@')}": use sqlite:<path> (default ${DEFAULT_STORE_URL}) or postgres://user@host:port/db`);
}
