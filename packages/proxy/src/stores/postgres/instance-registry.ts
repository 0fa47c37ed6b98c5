/**
 * Which keyleash instances share this PostgreSQL schema, so one that starts can tell a
 * reservation left held by an instance that died (recover it) from one a live instance is still
 * forwarding (leave it alone).
 *
 * Each instance registers a row and then holds a session-level advisory lock keyed on that row's
 * id, on a connection of its own, for as long as it runs. PostgreSQL releases a session lock when
 * its connection ends, and the connection of a killed process ends with it (the kernel closes the
 * socket at once; a host that vanishes is noticed by TCP keepalive). So "can I take instance N's
 * lock?" is an exact test of "is instance N gone?", with no clock and no timeout: a recovering
 * instance takes a gone instance's lock and holds it while it recovers, so two instances
 * starting together never recover the same instance twice (and a reservation is claimed only
 * while still held, so it ends once anyway).
 *
 * If the lock connection of a live instance breaks (a PostgreSQL restart, a network cut), the
 * instance looks gone to the next one that starts: that one keeps its held reservations at their
 * full amount (never less than what can have been forwarded) and audits them as outcome unknown;
 * the live instance's own settlements of them then fail and are logged. That errs on the side of
 * counting, never of losing spend.
 */
import { hostname } from 'node:os';
import pg from 'pg';
import type { PostgresLocation } from './connection.ts';

export class PostgresInstanceRegistry {
  private constructor(
    private readonly client: pg.Client,
    readonly id: number,
    private readonly lockSpace: string,
    private readonly instances: string,
  ) {}

  /** registers this instance and takes its lock (the schema must be migrated) */
  static async register(location: PostgresLocation, quotedSchema: string, schema: string): Promise<PostgresInstanceRegistry> {
    const client = new pg.Client({ connectionString: location.connectionString, application_name: 'keyleash', keepAlive: true, connectionTimeoutMillis: 10_000 });
    client.on('error', (error) => {
      process.emitWarning(`keyleash: the PostgreSQL connection that marks this instance alive failed (${error.message}); instances started from now on will take this one's held reservations for abandoned`);
    });
    await client.connect();
    try {
      const instances = `${quotedSchema}.store_instances`;
      const { rows } = await client.query<{ id: string }>(`INSERT INTO ${instances} (host, pid, started_at) VALUES ($1, $2, $3) RETURNING id`, [hostname(), process.pid, Date.now()]);
      const registry = new PostgresInstanceRegistry(client, Number(rows[0]!.id), `keyleash:instance:${schema}`, instances);
      await client.query('SELECT pg_advisory_lock(hashtext($1), $2::int)', [registry.lockSpace, registry.id]);
      return registry;
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
  }

  /**
   * Runs `recover` with the ids of the instances that are gone, holding their locks meanwhile,
   * then forgets them. (Reservations of instances no longer registered at all, i.e. closed
   * cleanly or already forgotten, are the caller's to find.)
   */
  async withGoneInstances<T>(recover: (gone: number[]) => Promise<T>): Promise<T> {
    const { rows } = await this.client.query<{ id: string }>(`SELECT id FROM ${this.instances} WHERE id <> $1 ORDER BY id`, [this.id]);
    const gone: number[] = [];
    try {
      for (const row of rows) {
        const id = Number(row.id);
        const taken = await this.client.query<{ free: boolean }>('SELECT pg_try_advisory_lock(hashtext($1), $2::int) AS free', [this.lockSpace, id]);
        if (taken.rows[0]!.free) gone.push(id);
      }
      const result = await recover(gone);
      if (gone.length > 0) await this.client.query(`DELETE FROM ${this.instances} WHERE id = ANY($1::bigint[])`, [gone]);
      return result;
    } finally {
      for (const id of gone) await this.client.query('SELECT pg_advisory_unlock(hashtext($1), $2::int)', [this.lockSpace, id]).catch(() => undefined);
    }
  }

  /** a clean stop: unregistered, so its (by now settled) reservations belong to nobody alive */
  async close(): Promise<void> {
    try {
      await this.client.query(`DELETE FROM ${this.instances} WHERE id = $1`, [this.id]);
    } finally {
      await this.client.end().catch(() => undefined);
    }
  }
}
