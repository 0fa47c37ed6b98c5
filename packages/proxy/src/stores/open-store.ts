import { resolve } from 'node:path';
import type { Store } from '@keyleash/core';
import { SqliteStore } from './sqlite/sqlite-store.ts';

export const DEFAULT_STORE_URL = 'sqlite:./.keyleash/keyleash.db';

/** `sqlite:<path>` (or `sqlite::memory:`) or `postgres://…`. */
export async function openStore(url: string): Promise<Store> {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    return new SqliteStore(path === ':memory:' ? path : resolve(path));
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    throw new Error('--store postgres://… is not built yet; use sqlite:<path>');
  }
  throw new Error(`--store "${url}": use sqlite:<path> (default ${DEFAULT_STORE_URL}) or postgres://user@host:port/db`);
}
