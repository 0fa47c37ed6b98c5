/**
 * WAL checkpoints off the serving thread. A checkpoint copies the WAL back into the database file
 * and fsyncs it: with SQLite's automatic checkpoints that happens inside a commit on the event
 * loop (tens of milliseconds for a large WAL), which was keyleash's whole latency tail. Here a
 * worker thread with its own connection checkpoints (PASSIVE: it neither waits for nor blocks
 * writers) every CHECKPOINT_INTERVAL_MS, and the serving connection's automatic checkpoints are
 * off. If the worker cannot start or fails, automatic checkpoints come back on, so the WAL never
 * grows without bound.
 */
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

export const CHECKPOINT_INTERVAL_MS = 1_000;
/** the serving connection's own automatic checkpoint, used when no worker runs (pages of WAL) */
const FALLBACK_AUTOCHECKPOINT = 4000;

export class Checkpointer {
  private worker: Worker | undefined;

  constructor(
    private readonly db: Database.Database,
    path: string,
  ) {
    this.db.pragma(`wal_autocheckpoint = ${FALLBACK_AUTOCHECKPOINT}`);
    if (path === ':memory:') return;
    try {
      const worker = new Worker(new URL('./checkpoint-worker.mjs', import.meta.url), { workerData: { path, intervalMs: CHECKPOINT_INTERVAL_MS } });
      // the process may exit while it runs (a CLI command that opened the store)
      worker.unref();
      worker.on('error', (error) => this.fallBack(`the checkpoint worker failed: ${error.message}`));
      worker.on('message', (message: { kind: string; message?: string }) => {
        if (message.kind === 'error') process.emitWarning(`keyleash: WAL checkpoint failed (${message.message}); retrying`);
      });
      this.worker = worker;
      this.db.pragma('wal_autocheckpoint = 0');
    } catch (error) {
      this.fallBack(`could not start the checkpoint worker: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private fallBack(why: string): void {
    if (!this.worker) return;
    this.worker = undefined;
    process.emitWarning(`keyleash: ${why}; SQLite checkpoints run on the serving thread again`);
    if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${FALLBACK_AUTOCHECKPOINT}`);
  }

  /** stops the worker after a last checkpoint */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage('stop');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
    await worker.terminate();
  }
}
