// PostgreSQL helpers for bench/run.sh (uses the repo's `pg`).
//   node pg-admin.mjs postmaster URL          -> the pid of the server's postmaster, when it runs on this machine
//   node pg-admin.mjs drop-schema URL SCHEMA  -> DROP SCHEMA … CASCADE (the bench's own scratch schema)
// URL is a plain libpq URL (without keyleash's own ?schema= / ?pool_max= parameters).
import { readFileSync } from 'node:fs';
import pg from 'pg';

const [command, url, name] = process.argv.slice(2);
if (!url || !(command === 'postmaster' || (command === 'drop-schema' && name))) {
  console.error('usage: node pg-admin.mjs postmaster URL | drop-schema URL SCHEMA');
  process.exit(2);
}
const client = new pg.Client({ connectionString: url, application_name: 'keyleash_bench_admin' });
await client.connect();
try {
  if (command === 'postmaster') {
    // this connection's backend is a child of the postmaster; a server on another machine has no
    // such process here, and prints nothing
    const { rows } = await client.query('SELECT pg_backend_pid() AS pid');
    try {
      const stat = readFileSync(`/proc/${rows[0].pid}/stat`, 'utf8');
      console.log(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      console.log('');
    }
  } else if (command === 'drop-schema') {
    if (!/^keyleash_bench_[A-Za-z0-9_]+$/.test(name)) throw new Error(`refusing to drop ${name}: not a bench schema`);
    await client.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
  }
} finally {
  await client.end();
}
