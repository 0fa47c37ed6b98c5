// The WAL checkpointer's thread (see checkpointer.ts): its own connection to the file, which
// copies the WAL back into the database (and fsyncs it), so the serving thread never does. Plain
// JavaScript: a worker may start without the TypeScript loader. PASSIVE never waits for, nor
// blocks, the serving connection's writes.
//
// When: once `thresholdFrames` new frames are in the WAL (as SQLite's own automatic checkpoint
// would, so a busy WAL's hot pages are copied back as rarely as before), or after `idleMs` with
// any new frame. The WAL's frame count is read from its shared index (the -shm file: mxFrame, a
// native-endian u32 at byte 16 of the index header), a 4-byte read that takes no lock; a torn
// read only moves one checkpoint by a poll.
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { path, pollMs, thresholdFrames, idleMs } = workerData;
const db = new Database(path);
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

let copied = 0;
let lastCheckpoint = Date.now();

function checkpoint() {
  try {
    const [result] = db.pragma('wal_checkpoint(PASSIVE)');
    copied = result.checkpointed > 0 ? result.checkpointed : 0;
  } catch (error) {
    parentPort.postMessage({ kind: 'error', message: error instanceof Error ? error.message : String(error) });
  }
  lastCheckpoint = Date.now();
}

const timer = setInterval(() => {
  const frames = walFrames();
  // a WAL restarted from its beginning after a complete checkpoint
  if (frames < copied) copied = 0;
  const fresh = frames - copied;
  if (fresh >= thresholdFrames || (fresh > 0 && Date.now() - lastCheckpoint >= idleMs)) checkpoint();
}, pollMs);

parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  checkpoint();
  db.close();
  if (shm !== undefined) closeSync(shm);
  parentPort.close();
});
