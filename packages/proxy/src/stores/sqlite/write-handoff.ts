/**
 * Who writes the SQLite file next: the serving thread's group commit, or the checkpoint worker's
 * RESTART (a checkpoint that holds the write lock for a few milliseconds so the WAL can start
 * again from its beginning, see checkpoint-worker.mjs). Two flags in memory both threads share:
 * the worker raises WANTED, then waits until COMMITTING is down; the serving thread raises
 * COMMITTING, then backs off if WANTED is up. Each raises its own flag before it reads the other's
 * (sequentially consistent atomics), so they never both go ahead, and neither waits inside
 * SQLite's busy handler, which sleeps 1, 2, 5, 10… ms: on the serving thread that sleep would block
 * the event loop, on the worker it would hold every commit back for that long.
 *
 * Only this process's group commits take part; another process on the same file, or a write
 * outside the group commit (issuing a key, revoking one), still meets the lock the usual way.
 */
export const WANTED = 0;
export const COMMITTING = 1;

export class WriteHandoff {
  private readonly flags: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT)) {
    this.flags = new Int32Array(buffer);
  }

  /** starts a commit unless the worker wants the lock (then false: try again shortly) */
  tryBeginCommit(): boolean {
    Atomics.store(this.flags, COMMITTING, 1);
    if (Atomics.load(this.flags, WANTED) === 0) return true;
    Atomics.store(this.flags, COMMITTING, 0);
    return false;
  }

  /** starts a commit that cannot wait (a read that must see what is queued): at worst it meets the lock */
  beginCommit(): void {
    Atomics.store(this.flags, COMMITTING, 1);
  }

  endCommit(): void {
    Atomics.store(this.flags, COMMITTING, 0);
  }

  /** the worker is gone (failed, or stopped mid-restart): nothing wants the lock any more */
  workerGone(): void {
    Atomics.store(this.flags, WANTED, 0);
  }
}

/** the serving thread's side of the handoff, what the group commit calls */
export type CommitSide = Pick<WriteHandoff, 'tryBeginCommit' | 'beginCommit' | 'endCommit'>;

/** a group commit with no checkpoint worker to make way for (`:memory:`, tests) */
export const NO_HANDOFF: CommitSide = {
  tryBeginCommit: () => true,
  beginCommit: () => {},
  endCommit: () => {},
};
