import type { Command } from 'commander';
import { DEFAULT_STORE_URL } from '../stores/default-store-url.ts';

/**
 * `keyleash migrate --store …`: applies pending schema migrations and exits. `serve` migrates on
 * start as well; this is for deployments that migrate as a separate release step. Safe to run
 * while instances start or serve (PostgreSQL: one transaction under an advisory lock).
 */
export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('apply pending store schema migrations and exit')
    .option('--store <url>', `sqlite:<path> (default ${DEFAULT_STORE_URL}) or postgres://…[?schema=name] (env KEYLEASH_STORE)`)
    .action(async (flags: { store?: string }) => {
      const url = flags.store ?? process.env.KEYLEASH_STORE ?? DEFAULT_STORE_URL;
      // the store drivers load only for this command: the management commands stay quick to start
      const [{ openStore }, { isPostgresUrl }, { PostgresStore }] = await Promise.all([
        import('../stores/open-store.ts'),
        import('../stores/postgres/connection.ts'),
        import('../stores/postgres/postgres-store.ts'),
      ]);
      if (isPostgresUrl(url)) {
        const store = await PostgresStore.connect(url, { migrate: false });
        try {
          const report = await store.runMigrations();
          const applied = report.applied.length ? `applied ${report.applied.join(', ')}` : 'nothing to apply';
          process.stdout.write(`postgres ${store.location.display}: schema "${report.schema}" at version ${report.version} (${applied})\n`);
        } finally {
          await store.close();
        }
        return;
      }
      const store = await openStore(url);
      await store.migrate();
      await store.close();
      process.stdout.write(`${store.kind} ${url}: schema up to date\n`);
    });
}
