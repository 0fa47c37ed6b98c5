// The WAL checkpointer's thread (see checkpointer.ts): its own connection to the file, which
// copies the WAL back into the database (and fsyncs it) on a timer, so the serving thread never
// does. Plain JavaScript: a worker may start without the TypeScript loader. PASSIVE never waits
// for, nor blocks, the serving connection's writes; with nothing new in the WAL it returns at once.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { path, intervalMs } = workerData;
const db = new Database(path);

function checkpoint() {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    parentPort.postMessage({ kind: 'error', message: error instanceof Error ? error.message : String(error) });
  }
}

const timer = setInterval(checkpoint, intervalMs);

parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort.close();
});
