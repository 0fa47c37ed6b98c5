/**
 * The packages as a developer outside this repository gets them: `pnpm build`, `pnpm pack` of
 * every package under packages/, `npm install` of the tarballs and the frameworks in a fresh
 * directory outside the repository, then plain `node` imports, `npx keyleash serve` with the
 * prebuilt dashboard, the installed CLI, and a consumer's TypeScript type-checked against the
 * shipped .d.ts. Slow (a build and a real npm install), so it has its own long timeouts.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, startKeyleash, type KeyleashProcess } from '../support/keyleash-process.ts';

const run = promisify(execFile);
const MINUTE = 60_000;

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  devDependencies?: Record<string, string>;
}
const readManifest = (dir: string): Manifest => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;

/** Every package under packages/: each must build, pack, install and import. */
const PACKAGES = readdirSync(join(REPO_ROOT, 'packages'))
  .filter((dir) => existsSync(join(REPO_ROOT, 'packages', dir, 'package.json')))
  .map((dir) => readManifest(join(REPO_ROOT, 'packages', dir)));

/** The frameworks at the versions the workspace tests (the packages name them as peers), and the consumer's TypeScript. */
const ROOT_DEV = readManifest(REPO_ROOT).devDependencies ?? {};
const CONSUMER_DEPENDENCIES = ['stripe', 'twilio', 'zod', '@langchain/core', '@openai/agents', 'openai', 'typescript', '@types/node'].map((name) => {
  const version = ROOT_DEV[name];
  if (!version) throw new Error(`the root package.json has no devDependency ${name}`);
  return `${name}@${version}`;
});

/** pnpm as the test was started (pnpm test), else the pinned version the README uses. */
function pnpm(args: string[], cwd: string) {
  const execPath = process.env.npm_execpath;
  const [command, prefix] = execPath && /pnpm/.test(execPath) ? [process.execPath, [execPath]] : ['npx', ['-y', 'pnpm@10.34.9']];
  return run(command, [...prefix, ...args], { cwd, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, CI: 'true' } });
}

/**
 * better-sqlite3's install script downloads a prebuilt binary (prebuild-install) and compiles
 * from source when it cannot, which takes minutes. Machines without internet access besides the
 * npm registry always compile; so this serves the binary the workspace already has, under the
 * name prebuild-install asks for, from a local mirror (its documented *_binary_host setting).
 * Another version or platform gets a 404 and compiles, as it would anyway.
 */
async function betterSqlitePrebuiltMirror(dir: string): Promise<{ server: Server; url: string }> {
  const requireFromProxy = createRequire(join(REPO_ROOT, 'packages', 'proxy', 'package.json'));
  const pkgDir = join(requireFromProxy.resolve('better-sqlite3/package.json'), '..');
  const { version } = readManifest(pkgDir);
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  const file = join(dir, name);
  await run('tar', ['-czf', file, '-C', pkgDir, 'build/Release/better_sqlite3.node']);
  const server = createServer((req, res) => {
    if (req.url === `/v${version}/${name}`) return void res.writeHead(200, { 'content-type': 'application/gzip' }).end(readFileSync(file));
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { server, url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` };
}

const tarballName = (name: string, version: string) => `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`;

describe('installable packages', { timeout: 5 * MINUTE }, () => {
  let work: string;
  let tarballs: string;
  let app: string;
  let keyleash: KeyleashProcess | undefined;
  let mirror: Server | undefined;
  const timings: string[] = [];
  const timed = async <T>(label: string, step: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    const result = await step();
    timings.push(`${label}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return result;
  };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'keyleash-install-'));
    tarballs = join(work, 'tarballs');
    app = join(work, 'app');
    await timed('pnpm build', () => pnpm(['build'], REPO_ROOT));
    await timed('pnpm pack', () => pnpm(['-r', '--filter', './packages/**', 'pack', '--pack-destination', tarballs], REPO_ROOT));
    mkdirSync(app);
    const prebuilt = await betterSqlitePrebuiltMirror(work);
    mirror = prebuilt.server;
    // allowScripts: npm versions that block dependencies' install scripts by default still build better-sqlite3
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'keyleash-consumer', private: true, type: 'module', allowScripts: { 'better-sqlite3': true } }, null, 2));
    const install = ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...readdirSync(tarballs).map((file) => join(tarballs, file)), ...CONSUMER_DEPENDENCIES];
    await timed('npm install', () => run('npm', install, { cwd: app, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, npm_config_better_sqlite3_binary_host: prebuilt.url } }));
  }, 25 * MINUTE);

  afterAll(async () => {
    mirror?.close();
    await keyleash?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('packs one tarball per package, holding compiled .js and .d.ts and no tests or TypeScript sources', async () => {
    console.log(timings.join(', '));
    expect(readdirSync(tarballs).sort()).toEqual(PACKAGES.map((p) => tarballName(p.name, p.version)).sort());
    for (const pkg of PACKAGES) {
      const file = join(tarballs, tarballName(pkg.name, pkg.version));
      const { stdout } = await run('tar', ['-tzf', file]);
      const entries = stdout.trim().split('\n').map((entry) => entry.replace(/^package\//, ''));
      const sizeKb = Math.round(readFileSync(file).length / 1024);
      console.log(`${pkg.name}: ${entries.length} files, ${sizeKb} KiB`);
      expect(entries, pkg.name).toContain('dist/index.js');
      expect(entries, pkg.name).toContain('dist/index.d.ts');
      expect(entries, pkg.name).toContain('dist/index.js.map');
      const stray = entries.filter((entry) => !/^(package\.json|README\.md|LICENSE)$/.test(entry) && !entry.startsWith('dist/'));
      expect(stray, `${pkg.name} ships files outside dist/`).toEqual([]);
      expect(entries.filter((entry) => /\.test\.|(^|\/)test\/|(?<!\.d)\.tsx?$/.test(entry)), `${pkg.name} ships tests or sources`).toEqual([]);
      const manifest = JSON.parse((await run('tar', ['-xzOf', file, 'package/package.json'])).stdout) as Record<string, any>;
      expect(manifest.exports['.'], pkg.name).toEqual({ types: './dist/index.d.ts', default: './dist/index.js' });
      expect(JSON.stringify(manifest), `${pkg.name}: workspace: ranges are replaced by versions`).not.toContain('workspace:');
      expect(manifest.license, pkg.name).toBe('MIT');
    }
  });

  it('plain node imports every package', async () => {
    for (const pkg of PACKAGES) {
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(pkg.name)}); console.log(Object.keys(m).length)`], { cwd: app });
      expect(Number(stdout.trim()), `${pkg.name} exports something`).toBeGreaterThan(0);
    }
  });

  it('npx keyleash serve answers /healthz and serves the dashboard and its assets, prebuilt (no esbuild installed)', async () => {
    expect(existsSync(join(app, 'node_modules', 'esbuild'))).toBe(false);
    keyleash = await startKeyleash({ cli: { command: 'npx', args: ['--no-install', 'keyleash'], cwd: app }, storeUrl: `sqlite:${join(work, 'keyleash.db')}` });
    expect(await (await fetch(`${keyleash.url}/healthz`)).json()).toMatchObject({ ok: true });
    // the SQLite store's WAL checkpoints run on a worker thread (its own file in dist): without
    // it they fall back onto the serving thread, and the latency tail comes back
    expect(existsSync(join(app, 'node_modules', '@keyleash', 'proxy', 'dist', 'stores', 'sqlite', 'checkpoint-worker.mjs'))).toBe(true);
    const page = await fetch(`${keyleash.url}/dashboard`);
    expect(page.status).toBe(200);
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="(\/dashboard\/app-[^"]+)"/g)].map((match) => match[1]!);
    expect(assets.map((asset) => asset.replace(/app-[A-Z0-9]+/, 'app-*')).sort()).toEqual(['/dashboard/app-*.css', '/dashboard/app-*.js']);
    for (const asset of assets) {
      const response = await fetch(`${keyleash.url}${asset}`);
      expect(response.status, asset).toBe(200);
      expect(response.headers.get('content-type'), asset).toMatch(asset.endsWith('.js') ? /^text\/javascript/ : /^text\/css/);
      expect((await response.arrayBuffer()).byteLength, asset).toBeGreaterThan(1000);
    }
    expect(keyleash.output()).not.toContain('checkpoint worker failed');
  });

  it('the installed keyleash CLI manages keys against that server', async () => {
    expect(keyleash, 'the serve test started it').toBeDefined();
    const cli = (args: string[]) =>
      run(join(app, 'node_modules', '.bin', 'keyleash'), args, { cwd: app, env: { PATH: process.env.PATH ?? '', KEYLEASH_URL: keyleash!.url, KEYLEASH_ADMIN_TOKEN: keyleash!.adminToken } });
    const created = JSON.parse((await cli(['keys', 'create', '--vendor', 'stripe', '--daily-usd-cap', '5', '--allow', 'POST /v1/payment_intents', '--expires-in', '1h', '--metadata', 'role=billing', '--json'])).stdout);
    const started = Date.now();
    const listed = JSON.parse((await cli(['keys', 'list', '--json'])).stdout) as { id: string }[];
    console.log(`installed keyleash keys list: ${Date.now() - started} ms`);
    expect(listed.map((key) => key.id)).toContain(created.id);
  });

  it('the installed keyleash-mcp bin runs under plain node, and keyleash mcp finds it', async () => {
    const env = { PATH: process.env.PATH ?? '' };
    const usage = await run(join(app, 'node_modules', '.bin', 'keyleash-mcp'), ['--help'], { cwd: app, env });
    expect(usage.stdout + usage.stderr).toContain('keyleash-mcp stdio|http');
    const viaProxy = await run(join(app, 'node_modules', '.bin', 'keyleash'), ['mcp', '--help'], { cwd: app, env }).catch((error: { stdout: string; stderr: string }) => error);
    expect(viaProxy.stdout + viaProxy.stderr).toContain('keyleash-mcp stdio|http');
  });

  it('a consumer .ts file using the client and both adapters type-checks (strict, nodenext)', async () => {
    for (const file of ['consumer.ts', 'tsconfig.json']) copyFileSync(join(import.meta.dirname, 'consumer', file), join(app, file));
    const result = await run(join(app, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], { cwd: app }).catch((error: { stdout: string }) => error);
    expect('stdout' in result ? result.stdout : '').toBe('');
  });
});
