import type Database from 'better-sqlite3';
import { deliver, type Outcome } from '../outcome.ts';
import { NO_HANDOFF, type CommitSide } from './write-handoff.ts';

// captured at load, so a test's fake timers cannot stall the ledger
const defer = setImmediate;
const later = setTimeout;
const cancelLater = clearTimeout;

/**
 * How long a settlement may wait for company (`runLazily`). Long enough for the next request of a
 * client that sends one after another to arrive and carry it; short enough that a crash in the
 * gap costs little (the reservation is kept and audited as outcome unknown, docs/durability.md).
 */
export const LAZY_COMMIT_MS = 5;

interface Pending {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for the hot-path writes (admit, settle, audit). The units queued in the same
 * event-loop turn share one `BEGIN IMMEDIATE … COMMIT`: one lock round-trip and one WAL append
 * per turn instead of per request, and the pages every request touches (spend rows, the audit
 * tail, index edges) are written once per group. Units run in arrival order, each seeing the ones
 * before it, so the result is the same as running them one after another; nothing is resolved
 * before the COMMIT that made it durable. A lone unit runs in a transaction of its own.
 *
 * Each unit is still atomic: when one throws, the whole group is rolled back and every unit runs
 * again alone (`rollBackAndRunAlone`), which is rare (a settlement of a reservation already
 * ended, a full disk). So a unit must do nothing outside the database that it cannot do twice.
 * This replaced a SAVEPOINT per unit, which cost 8 of 44 us of store CPU per admit + settle pair
 * in groups of 16.
 *
 * A unit nobody waits on before answering (a settlement: its request was answered already) can
 * run lazily: it starts no group of its own but rides with the next one, or commits on its own
 * after LAZY_COMMIT_MS. A client sending one request after another then costs one transaction
 * per request instead of two (its settlement rides with the next admission).
 */
export class GroupCommit {
  private pending: Pending[] = [];
  private scheduled = false;
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly step: (work: () => unknown) => unknown;
  private readonly begin: Database.Statement;
  private readonly commit: Database.Statement;
  private readonly rollback: Database.Statement;

  /**
   * @param handoff makes way for the checkpoint worker's RESTART (write-handoff.ts): while it
   *   wants the write lock, a scheduled group waits, asynchronously, instead of blocking the event
   *   loop in SQLite's busy handler
   */
  constructor(
    private readonly db: Database.Database,
    private readonly handoff: CommitSide = NO_HANDOFF,
  ) {
    // a unit alone: its own BEGIN IMMEDIATE … COMMIT (a SAVEPOINT if a transaction is open already)
    this.step = db.transaction((work: () => unknown) => work()).immediate;
    this.begin = db.prepare('BEGIN IMMEDIATE');
    this.commit = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
  }

  /** queues a unit for this event-loop turn's group */
  run<T>(work: () => T): Promise<T> {
    const queued = this.enqueue(work);
    if (!this.scheduled) {
      this.scheduled = true;
      defer(() => this.flushWhenFree());
    }
    return queued;
  }

  /** queues a unit for the next group, committed within LAZY_COMMIT_MS at the latest */
  runLazily<T>(work: () => T): Promise<T> {
    const queued = this.enqueue(work);
    if (!this.scheduled && this.flushTimer === undefined) this.flushTimer = later(() => this.flushWhenFree(), LAZY_COMMIT_MS);
    return queued;
  }

  private enqueue<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ work, resolve: resolve as (value: unknown) => void, reject });
    });
  }

  /** a scheduled group: runs now, or, while the checkpoint worker wants the lock, a millisecond later */
  private flushWhenFree(): void {
    if (!this.handoff.tryBeginCommit()) {
      this.scheduled = true;
      if (this.flushTimer !== undefined) cancelLater(this.flushTimer);
      this.flushTimer = later(() => this.flushWhenFree(), 1);
      return;
    }
    this.flushBegun();
  }

  /** runs whatever is queued now: before a read that must see it, and before closing the database */
  flush(): void {
    this.handoff.beginCommit();
    this.flushBegun();
  }

  private flushBegun(): void {
    try {
      this.runPending();
    } finally {
      this.handoff.endCommit();
    }
  }

  private runPending(): void {
    this.scheduled = false;
    if (this.flushTimer !== undefined) cancelLater(this.flushTimer);
    this.flushTimer = undefined;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    const outcomes = batch.length === 1 || this.db.inTransaction ? batch.map((unit) => this.attempt(unit.work)) : this.runGroup(batch);
    deliver(batch, outcomes);
  }

  private attempt(work: () => unknown): Outcome<unknown> {
    try {
      return { ok: true, value: this.step(work) };
    } catch (error) {
      return { ok: false, error };
    }
  }

  private runGroup(batch: Pending[]): Outcome<unknown>[] {
    try {
      this.begin.run();
    } catch (error) {
      return batch.map(() => ({ ok: false, error }));
    }
    const outcomes: Outcome<unknown>[] = [];
    for (const unit of batch) {
      try {
        outcomes.push({ ok: true, value: unit.work() });
      } catch {
        return this.rollBackAndRunAlone(batch);
      }
      // SQLite rolled the whole transaction back (I/O error, disk full…) though the unit went on
      if (!this.db.inTransaction) return this.rollBackAndRunAlone(batch);
    }
    try {
      this.commit.run();
    } catch (error) {
      try {
        if (this.db.inTransaction) this.rollback.run();
      } catch {
        // the connection is unusable; the error below is what the callers need
      }
      return batch.map(() => ({ ok: false, error }));
    }
    return outcomes;
  }

  /**
   * A unit of the group threw: nothing of the group is kept, and every unit runs again, in the
   * same order, each in a transaction of its own, so each ends exactly as it would have alone.
   * (Units are functions of the database alone, so running one again is safe.)
   */
  private rollBackAndRunAlone(batch: Pending[]): Outcome<unknown>[] {
    try {
      if (this.db.inTransaction) this.rollback.run();
    } catch (error) {
      return batch.map(() => ({ ok: false, error }));
    }
    return batch.map((unit) => this.attempt(unit.work));
  }
}
