// The WAL checkpointer's thread (see checkpointer.ts): its own connection to the file, which
// copies the WAL back into the database (and fsyncs it), so the serving thread never does. Plain
// JavaScript: a worker may start without the TypeScript loader. PASSIVE never waits for, nor
// blocks, the serving connection's writes.
//
// When: once `thresholdFrames` new frames are in the WAL (as SQLite's own automatic checkpoint
// would, so a busy WAL's hot pages are copied back as rarely as before), or every `idleMs` while
// fewer frames trickle in, or once writes have paused for `idleMs` (see Trimming). The WAL's frame count is read from its shared index (the -shm file: mxFrame, a
// native-endian u32 at byte 16 of the index header), a 4-byte read that takes no lock; a torn
// read only moves one checkpoint by a poll.
//
// Restarting: a PASSIVE checkpoint copies back the frames present when it began; under steady load
// more are written while it runs, so the WAL is never wholly copied back, SQLite never starts it
// again from its beginning, and it grows without bound (1.2 GB after 70,000 requests, measured)
// with every frame written to new disk blocks the kernel must first zero. So each threshold
// checkpoint, once the WAL holds `restartFrames`, is followed by a RESTART of the few frames written
// meanwhile. That mode holds the write lock while it runs, so the worker first asks the serving
// thread's group commit to make way (write-handoff.ts, memory both threads share): the group
// commit then waits a millisecond at a time, without blocking the event loop, and the worker
// starts only once no commit is under way, so neither sleeps in SQLite's busy handler. The next
// write starts the WAL from its beginning.
//
// Trimming: the serving connection never truncates the WAL file (a truncate inside its commit was
// a 28 ms stall), so the file keeps the size it reached under load. Once no frame has been
// written for `idleMs`, a TRUNCATE checkpoint empties it: that mode makes writers wait while it
// runs, which is harmless when none is writing, and this connection's short busy timeout bounds
// that wait if a reader elsewhere keeps it from finishing (it is then tried again later).
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { path, pollMs, thresholdFrames, restartFrames, idleMs, handoff } = workerData;
/** write-handoff.ts: [WANTED, COMMITTING] */
const flags = new Int32Array(handoff);
const WANTED = 0;
const COMMITTING = 1;
/** how long the worker waits for a commit under way before it gives the restart up until next time */
const HANDOFF_WAIT_MS = 50;
const db = new Database(path);
// PASSIVE never waits; TRUNCATE waits at most this long for readers and writers to finish
db.pragma('busy_timeout = 100');
const header = Buffer.alloc(4);
let shm;

function walFrames() {
  try {
    shm ??= openSync(`${path}-shm`, 'r');
    return readSync(shm, header, 0, 4, 16) === 4 ? header.readUInt32LE(0) : 0;
  } catch {
    return 0;
  }
}

/** the WAL file's size in bytes (0 when it does not exist) */
function walBytes() {
  let fd;
  try {
    fd = openSync(`${path}-wal`, 'r');
    return fstatSync(fd).size;
  } catch {
    return 0;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

let copied = 0;
let lastCheckpoint = Date.now();
let lastFrames = -1;
let lastWrite = Date.now();
let lastTrim = 0;

function checkpoint(mode) {
  try {
    const [result] = db.pragma(`wal_checkpoint(${mode})`);
    copied = result.checkpointed > 0 ? result.checkpointed : 0;
  } catch (error) {
    parentPort.postMessage({ kind: 'error', message: error instanceof Error ? error.message : String(error) });
  }
  lastCheckpoint = Date.now();
}

/** copies back what the last pass left and has the WAL start again from its beginning */
function restart() {
  Atomics.store(flags, WANTED, 1);
  try {
    const giveUpAt = performance.now() + HANDOFF_WAIT_MS;
    // a commit under way takes well under a millisecond: look again every 0.1 ms
    while (Atomics.load(flags, COMMITTING) === 1) {
      if (performance.now() > giveUpAt) return;
      Atomics.wait(flags, COMMITTING, 1, 0.1);
    }
    checkpoint('RESTART');
  } finally {
    Atomics.store(flags, WANTED, 0);
  }
}

const timer = setInterval(() => {
  const frames = walFrames();
  const now = Date.now();
  if (frames !== lastFrames) {
    lastFrames = frames;
    lastWrite = now;
  }
  // a WAL restarted from its beginning after a complete checkpoint
  if (frames < copied) copied = 0;
  const fresh = frames - copied;
  if (fresh >= thresholdFrames) {
    checkpoint('PASSIVE');
    if (frames >= restartFrames) {
      // the frames written during that pass, copied while writes go on, so fewer remain for the RESTART
      checkpoint('PASSIVE');
      restart();
    }
  } else if (now - lastWrite >= idleMs) {
    // quiet: copy back what is left and empty the file (tried again after idleMs if a reader held it)
    if (now - lastTrim >= idleMs && walBytes() > 0) {
      lastTrim = now;
      checkpoint('TRUNCATE');
    }
  } else if (fresh > 0 && now - lastCheckpoint >= idleMs) {
    // a slow but steady trickle of writes is copied back every idleMs
    checkpoint('PASSIVE');
  }
}, pollMs);

parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  checkpoint('PASSIVE');
  db.close();
  if (shm !== undefined) closeSync(shm);
  parentPort.close();
});
