// PostgreSQL helpers for bench/run.sh (uses the repo's `pg`).
//   node pg-admin.mjs backends URL APP_NAME   -> comma-separated pids of the backends serving APP_NAME
//   node pg-admin.mjs drop-schema URL SCHEMA  -> DROP SCHEMA … CASCADE (the bench's own scratch schema)
// URL is a plain libpq URL (without keyleash's own ?schema= / ?pool_max= parameters).
import pg from 'pg';

const [command, url, name] = process.argv.slice(2);
if (!command || !url || !name) {
  console.error('usage: node pg-admin.mjs backends|drop-schema URL NAME');
  process.exit(2);
}
const client = new pg.Client({ connectionString: url, application_name: 'keyleash_bench_admin' });
await client.connect();
try {
  if (command === 'backends') {
    const { rows } = await client.query('SELECT pid FROM pg_stat_activity WHERE application_name = $1 ORDER BY pid', [name]);
    console.log(rows.map((r) => r.pid).join(','));
  } else if (command === 'drop-schema') {
    if (!/^keyleash_bench_[A-Za-z0-9_]+$/.test(name)) throw new Error(`refusing to drop ${name}: not a bench schema`);
    await client.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
  } else {
    throw new Error(`unknown command ${command}`);
  }
} finally {
  await client.end();
}
