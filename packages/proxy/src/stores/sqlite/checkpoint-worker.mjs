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
// Trimming: the serving connection never truncates the WAL file (a truncate inside its commit was
// a 28 ms stall), so the file keeps the size it reached under load. Once no frame has been
// written for `idleMs`, a TRUNCATE checkpoint empties it: that mode makes writers wait while it
// runs, which is harmless when none is writing, and this connection's short busy timeout bounds
// that wait if a reader elsewhere keeps it from finishing (it is then tried again later).
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { path, pollMs, thresholdFrames, idleMs } = workerData;
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
