import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GroupCommit } from '../../src/stores/sqlite/group-commit.ts';
import { COMMITTING, WANTED, WriteHandoff } from '../../src/stores/sqlite/write-handoff.ts';

describe('sqlite group commit', () => {
  let dir: string;
  let db: Database.Database;
  let other: Database.Database;
  let group: GroupCommit;
  const rows = (conn: Database.Database) => (conn.prepare('SELECT v FROM t ORDER BY rowid').all() as { v: string }[]).map((r) => r.v);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'keyleash-group-'));
    db = new Database(join(dir, 'g.db'));
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (v TEXT NOT NULL UNIQUE)');
    other = new Database(join(dir, 'g.db'));
    group = new GroupCommit(db);
  });
  afterEach(() => {
    other.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const insert = (v: string) => () => db.prepare('INSERT INTO t (v) VALUES (?)').run(v).changes;

  it('runs units queued in one turn in one transaction, in order, each seeing the ones before', async () => {
    const seen: number[] = [];
    const results = await Promise.all([
      group.run(insert('a')),
      group.run(() => seen.push((db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n)),
      group.run(insert('b')),
    ]);
    expect(results).toEqual([1, 1, 1]);
    expect(seen).toEqual([1]);
    expect(rows(other)).toEqual(['a', 'b']);
  });

  it('rolls back only the unit that throws', async () => {
    const results = await Promise.allSettled([
      group.run(insert('a')),
      group.run(() => {
        insert('x')();
        throw new Error('refused');
      }),
      group.run(insert('a')), // UNIQUE violation: fails alone
      group.run(insert('c')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect(rows(other)).toEqual(['a', 'c']);
  });

  it('when a unit throws after writing, every other unit of the group still counts exactly once', async () => {
    db.exec('CREATE TABLE counter (n INTEGER NOT NULL); INSERT INTO counter VALUES (0)');
    const add = () => db.prepare('UPDATE counter SET n = n + 1').run().changes;
    const results = await Promise.allSettled([
      group.run(add),
      group.run(() => {
        add();
        throw new Error('refused after writing');
      }),
      group.run(add),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((other.prepare('SELECT n FROM counter').get() as { n: number }).n).toBe(2);
  });

  it('resolves nothing before the commit is durable, and fails every unit when the group cannot commit', async () => {
    // another connection holds the write lock: BEGIN IMMEDIATE fails (busy) and no unit may succeed
    db.pragma('busy_timeout = 0');
    other.exec('BEGIN IMMEDIATE');
    const results = await Promise.allSettled([group.run(insert('a')), group.run(insert('b'))]);
    other.exec('ROLLBACK');
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(rows(other)).toEqual([]);
    // and the store recovers on the next turn
    await expect(group.run(insert('z'))).resolves.toBe(1);
    expect(rows(other)).toEqual(['z']);
  });

  it('reports exactly the units that are durable when a unit hits a full disk mid-group', async () => {
    db.exec("CREATE TABLE blobs (b BLOB)");
    const pages = (db.pragma('page_count', { simple: true }) as number) + 2;
    db.pragma(`max_page_count = ${pages}`);
    const results = await Promise.allSettled([
      group.run(insert('a')),
      group.run(() => db.prepare('INSERT INTO blobs (b) VALUES (zeroblob(1000000))').run().changes), // SQLITE_FULL
      group.run(insert('c')),
    ]);
    expect(results[1]!.status).toBe('rejected');
    const present = rows(other);
    expect(results[0]!.status === 'fulfilled').toBe(present.includes('a'));
    expect(results[2]!.status === 'fulfilled').toBe(present.includes('c'));
    expect((other.prepare('SELECT count(*) AS n FROM blobs').get() as { n: number }).n).toBe(0);
  });

  it('flush() runs queued units synchronously (before the database closes)', async () => {
    const pending = group.run(insert('late'));
    group.flush();
    expect(rows(other)).toEqual(['late']);
    await expect(pending).resolves.toBe(1);
  });

  it('a lazy unit rides with the next group, ahead of it, in the same transaction', async () => {
    const lazy = group.runLazily(insert('settled earlier'));
    let seenBySelf: string[] = [];
    let seenByOther: string[] = [];
    await group.run(() => {
      seenBySelf = rows(db);
      seenByOther = rows(other);
    });
    await expect(lazy).resolves.toBe(1);
    // the lazy unit ran first, and was not committed apart from the unit after it
    expect(seenBySelf).toEqual(['settled earlier']);
    expect(seenByOther).toEqual([]);
    expect(rows(other)).toEqual(['settled earlier']);
  });

  it('a lazy unit with no company commits on its own', async () => {
    const lazy = group.runLazily(insert('alone'));
    expect(rows(other)).toEqual([]);
    await expect(lazy).resolves.toBe(1);
    expect(rows(other)).toEqual(['alone']);
  });

  it('flush() commits a lazy unit at once, for a read that must see it', async () => {
    const lazy = group.runLazily(insert('read me'));
    group.flush();
    expect(rows(other)).toEqual(['read me']);
    await expect(lazy).resolves.toBe(1);
  });

  describe('making way for the checkpoint worker', () => {
    let handoff: WriteHandoff;
    let flags: Int32Array;
    beforeEach(() => {
      handoff = new WriteHandoff();
      flags = new Int32Array(handoff.buffer);
      group = new GroupCommit(db, handoff);
    });

    it('a scheduled group waits while the worker wants the lock, then commits, and is marked committing only while it runs', async () => {
      Atomics.store(flags, WANTED, 1);
      const pending = group.run(insert('after the restart'));
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(rows(other)).toEqual([]);
      expect(Atomics.load(flags, COMMITTING)).toBe(0);
      let committingInside = -1;
      const second = group.run(() => (committingInside = Atomics.load(flags, COMMITTING)));
      Atomics.store(flags, WANTED, 0);
      await expect(pending).resolves.toBe(1);
      await second;
      expect(rows(other)).toEqual(['after the restart']);
      expect(committingInside).toBe(1);
      expect(Atomics.load(flags, COMMITTING)).toBe(0);
    });

    it('a lazy unit waits as well; flush() for a read does not wait', async () => {
      Atomics.store(flags, WANTED, 1);
      const lazy = group.runLazily(insert('lazy'));
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(rows(other)).toEqual([]);
      group.flush();
      expect(rows(other)).toEqual(['lazy']);
      await expect(lazy).resolves.toBe(1);
      expect(Atomics.load(flags, COMMITTING)).toBe(0);
    });

    it('the serving thread never goes ahead while the worker wants the lock, and the worker sees a commit under way', () => {
      expect(handoff.tryBeginCommit()).toBe(true);
      // the worker raises WANTED now: it must see COMMITTING and wait
      Atomics.store(flags, WANTED, 1);
      expect(Atomics.load(flags, COMMITTING)).toBe(1);
      handoff.endCommit();
      expect(Atomics.load(flags, COMMITTING)).toBe(0);
      expect(handoff.tryBeginCommit()).toBe(false);
      expect(Atomics.load(flags, COMMITTING)).toBe(0);
      handoff.workerGone();
      expect(handoff.tryBeginCommit()).toBe(true);
      handoff.endCommit();
    });
  });
});
