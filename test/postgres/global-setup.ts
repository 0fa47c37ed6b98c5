/**
 * Vitest global setup: the PostgreSQL the store and multi-instance tests use. KEYLEASH_TEST_PG_URL
 * names a server to use instead (e.g. postgres://postgres@127.0.0.1:5432/test); without it the
 * run starts its own (embedded-server.ts) once for all test files and stops it at the end.
 */
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from './embedded-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    keyleashTestPgUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const configured = process.env.KEYLEASH_TEST_PG_URL;
  if (configured) {
    project.provide('keyleashTestPgUrl', configured);
    return undefined;
  }
  const server = await startEmbeddedPostgres();
  project.provide('keyleashTestPgUrl', server.url);
  return () => server.stop();
}
