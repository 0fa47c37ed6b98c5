/**
 * Prism (`@stoplight/prism-cli` 5.14.2) serving one of Twilio's OpenAPI specs from
 * upstream-specs/twilio-oai (copied into this repository): it checks Basic auth is present, the account SID pattern and the
 * request against the spec, and answers with the spec's static examples (price: null on creates).
 * About 3 s to start, so a test file starts each Prism it needs once.
 */
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { freePort } from '../../support/free-port.ts';
import { REPO_ROOT } from '../../support/keyleash-process.ts';

export const TWILIO_SPECS = {
  api: 'twilio_api_v2010.json',
  verify: 'twilio_verify_v2.json',
} as const;

export interface Prism {
  url: string;
  stop(): Promise<void>;
}


export async function startPrism(spec: keyof typeof TWILIO_SPECS): Promise<Prism> {
  const port = await freePort();
  const specPath = resolve(REPO_ROOT, 'upstream-specs/twilio-oai/json', TWILIO_SPECS[spec]);
  const child = spawn(join(REPO_ROOT, 'node_modules/.bin/prism'), ['mock', '-p', String(port), '-h', '127.0.0.1', specPath], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  // Prism logs every request; keep reading so its pipe never fills up
  const keep = (chunk: Buffer) => {
    if (output.length < 200_000) output += chunk.toString();
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  await new Promise<void>((ready, reject) => {
    const timer = setTimeout(() => reject(new Error(`Prism (${spec}) did not start within 60s:\n${output.slice(-2000)}`)), 60_000);
    const check = () => {
      if (output.includes('Prism is listening')) {
        clearTimeout(timer);
        ready();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Prism (${spec}) exited with ${code}:\n${output.slice(-2000)}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
