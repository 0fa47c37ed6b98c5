/**
 * Which processes use this SQLite file, so a store that opens can tell a reservation left held
 * by a process that died (recover it) from one a live process is still forwarding (leave it).
 *
 * A process registers itself when its store opens and unregisters when it closes cleanly. An
 * instance counts as gone when:
 * - it is on this host and its pid is not running (a crash, `kill -9`), or its pid is this very
 *   process's and no store of this process registered it (the process was restarted under the
 *   same pid, as PID 1 in a container is);
 * - or its heartbeat (written every HEARTBEAT_MS) is older than STALE_MS: a process on another
 *   host, or a pid the OS has reused since. A process whose event loop stalls for longer than
 *   that is taken for gone too: its held reservations are then kept at their full amount (never
 *   less than what it can have forwarded) and its own settlement of them later fails, logged.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type Database from 'better-sqlite3';

export const HEARTBEAT_MS = 10_000;
export const STALE_MS = 60_000;

/** the instances registered by stores of this process (a test may open two on one file) */
const registeredHere = new Set<string>();

interface InstanceRow {
  id: string;
  host: string;
  pid: number;
  heartbeat_at: number;
}

function pidRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class SqliteInstanceRegistry {
  readonly id = randomUUID();
  private readonly host = hostname();
  private readonly heartbeat: NodeJS.Timeout;

  constructor(private readonly db: Database.Database) {
    const now = Date.now();
    db.prepare('INSERT INTO store_instances (id, host, pid, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?)').run(this.id, this.host, process.pid, now, now);
    registeredHere.add(this.id);
    const beat = db.prepare('UPDATE store_instances SET heartbeat_at = ? WHERE id = ?');
    this.heartbeat = setInterval(() => {
      try {
        beat.run(Date.now(), this.id);
      } catch {
        // busy or closing: the next beat tries again; STALE_MS allows several misses
      }
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** the registered instances that are not gone (this one included) */
  liveInstances(now: number): Set<string> {
    const rows = this.db.prepare('SELECT id, host, pid, heartbeat_at FROM store_instances').all() as InstanceRow[];
    return new Set(rows.filter((row) => !this.gone(row, now)).map((row) => row.id));
  }

  /** forgets instances that are gone (after their reservations were recovered) */
  forgetAllBut(live: Set<string>): void {
    const forget = this.db.prepare('DELETE FROM store_instances WHERE id = ?');
    for (const row of this.db.prepare('SELECT id FROM store_instances').all() as { id: string }[]) if (!live.has(row.id)) forget.run(row.id);
  }

  private gone(row: InstanceRow, now: number): boolean {
    if (row.id === this.id) return false;
    if (now - row.heartbeat_at > STALE_MS) return true;
    if (row.host !== this.host) return false;
    if (row.pid === process.pid) return !registeredHere.has(row.id);
    return !pidRunning(row.pid);
  }

  /** a clean close: this instance's reservations are settled by then, or recoverable by the next */
  close(): void {
    clearInterval(this.heartbeat);
    registeredHere.delete(this.id);
    try {
      this.db.prepare('DELETE FROM store_instances WHERE id = ?').run(this.id);
    } catch {
      // read-only or closing: the row then looks gone by its pid or its heartbeat
    }
  }
}
