/**
 * Bundles the dashboard (Preact + the core policy schema + CSS) with esbuild's JS API, in memory.
 * Nothing is written to disk and nothing is fetched: everything comes from node_modules.
 * Inside the workspace the proxy bundles at start (edits show up on restart); the built package
 * ships the bundle prebuilt (see write-assets.ts, prebuilt.ts), so esbuild is loaded only here,
 * on demand, and is no run-time dependency of an installed keyleash.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { createRequire } from 'node:module';
import { basename, dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'esbuild';

export interface BuiltAsset {
  /** file name under the dashboard's base path, content-hashed: `app-3F2A….js` */
  name: string;
  contentType: string;
  body: Buffer;
  /** the same bytes gzipped, for browsers that accept it (the script is mostly zod, ~4x smaller) */
  gzip: Buffer;
  etag: string;
}

export interface DashboardBundle {
  script: BuiltAsset;
  stylesheet: BuiltAsset;
}

const WEB_DIR = join(dirname(fileURLToPath(import.meta.url)), 'web');

/**
 * The browser gets exactly one module of `@keyleash/core`: the policy schema (zod), so the issue
 * form validates with the very schema the API uses. The rest of core (hashing, audit chain) is
 * Node-only and stays out of the bundle.
 */
function coreSchemaOnly(): Plugin {
  const require = createRequire(import.meta.url);
  const coreIndex = require.resolve('@keyleash/core');
  const policyModule = join(dirname(coreIndex), 'policy.ts');
  return {
    name: 'keyleash-core-schema-only',
    setup(esbuild) {
      esbuild.onResolve({ filter: /^@keyleash\/core$/ }, () => ({ path: policyModule }));
    },
  };
}

export async function buildDashboard(options: { minify?: boolean } = {}): Promise<DashboardBundle> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [join(WEB_DIR, 'main.tsx')],
    bundle: true,
    write: false,
    outdir: '/dashboard-build',
    entryNames: 'app-[hash]',
    format: 'esm',
    platform: 'browser',
    target: ['chrome109', 'firefox115', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: options.minify ?? true,
    legalComments: 'none',
    logLevel: 'silent',
    plugins: [coreSchemaOnly()],
  });
  const asset = (ext: string): BuiltAsset => {
    const file = result.outputFiles.find((f) => f.path.endsWith(ext));
    if (!file) throw new Error(`the dashboard build produced no ${ext} file`);
    const body = Buffer.from(file.contents);
    return builtAsset(basename(file.path), body, gzipSync(body, { level: 9 }));
  };
  return { script: asset('.js'), stylesheet: asset('.css') };
}

const CONTENT_TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

/** One served file: its bytes, their gzip and the ETag, whether just bundled or read from disk. */
export function builtAsset(name: string, body: Buffer, gzip: Buffer): BuiltAsset {
  const contentType = CONTENT_TYPES[extname(name)];
  if (!contentType) throw new Error(`the dashboard has no content type for ${name}`);
  return { name, contentType, body, gzip, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
}
