/**
 * WAL checkpoints off the serving thread. A checkpoint copies the WAL back into the database file
 * and fsyncs it: with SQLite's automatic checkpoints that happens inside a commit on the event
 * loop (tens of milliseconds for a large WAL), which was keyleash's whole latency tail. Here a
 * worker thread with its own connection checkpoints (PASSIVE: it neither waits for nor blocks
 * writers) once CHECKPOINT_FRAMES pages of WAL have accumulated (the ~16 MB the serving
 * connection used to wait for: a busy WAL's hot pages are copied back rarely, which is what keeps
 * CPU per request down) or after CHECKPOINT_IDLE_MS with anything new, and the serving
 * connection's automatic checkpoints are off. The serving connection does not truncate the WAL
 * file either; the worker empties it once writes have paused for CHECKPOINT_IDLE_MS, and once the
 * WAL holds RESTART_FRAMES has it start again from its beginning (so it does not grow under steady
 * load), while the serving thread holds its commits for that moment (write-handoff.ts). If the
 * worker cannot start or fails, automatic checkpoints come back on, so the WAL never grows
 * without bound.
 */
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { WriteHandoff } from './write-handoff.ts';

/** pages of WAL that make a checkpoint (4 KiB pages: ~16 MB) */
export const CHECKPOINT_FRAMES = 4000;
/**
 * the WAL's size (frames: ~64 MB) at which the worker has it start again from its beginning: each
 * restart holds the serving thread's commits for a moment, so not at every checkpoint
 */
export const RESTART_FRAMES = 4 * CHECKPOINT_FRAMES;
export const CHECKPOINT_IDLE_MS = 5_000;
const POLL_MS = 50;

export class Checkpointer {
  private worker: Worker | undefined;
  /** who writes next, the serving thread's group commit or the worker's RESTART */
  readonly handoff = new WriteHandoff();

  constructor(
    private readonly db: Database.Database,
    path: string,
  ) {
    this.db.pragma(`wal_autocheckpoint = ${CHECKPOINT_FRAMES}`);
    if (path === ':memory:') return;
    try {
      const worker = new Worker(new URL('./checkpoint-worker.mjs', import.meta.url), {
        workerData: { path, pollMs: POLL_MS, thresholdFrames: CHECKPOINT_FRAMES, restartFrames: RESTART_FRAMES, idleMs: CHECKPOINT_IDLE_MS, handoff: this.handoff.buffer },
      });
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
    this.handoff.workerGone();
    process.emitWarning(`keyleash: ${why}; SQLite checkpoints run on the serving thread again`);
    if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${CHECKPOINT_FRAMES}`);
  }

  /** stops the worker after a last checkpoint */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    // kept alive until its last checkpoint is done, even when nothing else holds the process
    worker.ref();
    worker.postMessage('stop');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, 2_000)))]);
    clearTimeout(timer);
    await worker.terminate();
    this.handoff.workerGone();
  }
}
