import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');

export interface KeyleashProcess {
  url: string;
  port: number;
  adminToken: string;
  storeUrl: string;
  /** everything the process printed on stdout and stderr, for secret-leak checks */
  output: () => string;
  child: ChildProcess;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface StartOptions {
  upstreams?: Record<string, string>;
  env?: Record<string, string>;
  storeUrl?: string;
  extraArgs?: string[];
  adminToken?: string;
  /** run an installed CLI instead of the workspace's source, e.g. `npx keyleash` in a consumer directory */
  cli?: { command: string; args: string[]; cwd: string };
}

/** Runs `keyleash serve` as a real process (the CLI users run) on an ephemeral port. */
export async function startKeyleash(options: StartOptions = {}): Promise<KeyleashProcess> {
  const storeUrl = options.storeUrl ?? `sqlite:${join(mkdtempSync(join(tmpdir(), 'keyleash-test-')), 'keyleash.db')}`;
  const adminToken = options.adminToken ?? `kla_test_${Math.random().toString(36).slice(2)}`;
  const cli = options.cli ?? { command: process.execPath, args: ['--import', 'tsx', join(REPO_ROOT, 'packages/proxy/src/cli/main.ts')], cwd: REPO_ROOT };
  const args = [...cli.args, 'serve', '--port', '0', '--store', storeUrl];
  for (const [host, url] of Object.entries(options.upstreams ?? {})) args.push('--upstream', `${host}=${url}`);
  args.push(...(options.extraArgs ?? []));
  const child = spawn(cli.command, args, {
    cwd: cli.cwd,
    env: { PATH: process.env.PATH ?? '', ...(options.cli ? { HOME: process.env.HOME ?? '' } : {}), KEYLEASH_ADMIN_TOKEN: adminToken, KEYLEASH_LOG_LEVEL: 'warn', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // a launcher such as npx runs keyleash as its child: stop() signals the whole group
    detached: options.cli !== undefined,
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = await new Promise<string>((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`keyleash did not start within 30s:\n${output}`)), 30_000);
    const check = () => {
      const match = /keyleash listening on (http:\/\/[^\s]+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolvePromise(match[1]!);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`keyleash exited with ${code} before listening:\n${output}`));
    });
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    url,
    port: Number(new URL(url).port),
    adminToken,
    storeUrl,
    output: () => output,
    child,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) {
        if (options.cli && child.pid) process.kill(-child.pid, signal);
        else child.kill(signal);
      }
      await exited;
    },
  };
}

/** A tiny admin API client for tests (the real one lives in @keyleash/client). */
export function adminApi(keyleash: Pick<KeyleashProcess, 'url' | 'adminToken'>) {
  const call = async (method: string, path: string, body?: unknown, token: string | null = keyleash.adminToken) => {
    const response = await fetch(`${keyleash.url}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: (await response.json()) as any };
  };
  return {
    call,
    async issue(policy: Record<string, unknown>) {
      const result = await call('POST', '/api/vault_keys', policy);
      if (result.status !== 201) throw new Error(`issue failed: ${result.status} ${JSON.stringify(result.body)}`);
      return result.body as { id: string; vault_key: string; [k: string]: unknown };
    },
    async derive(parentVaultKey: string, policy: Record<string, unknown>) {
      const result = await call('POST', '/api/vault_keys', { parent_vault_key: parentVaultKey, ...policy }, null);
      if (result.status !== 201) throw new Error(`derive failed: ${result.status} ${JSON.stringify(result.body)}`);
      return result.body as { id: string; vault_key: string; [k: string]: unknown };
    },
    async audit(query = '') {
      return (await call('GET', `/api/audit?limit=10000${query ? `&${query}` : ''}`)).body.data as any[];
    },
  };
}
