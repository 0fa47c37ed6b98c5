/**
 * Package build step (`pnpm build`): bundles the dashboard once and writes it, with its gzip and a
 * manifest, to dist/assets/, where `prebuilt.ts` finds it in the built package.
 *   node --import tsx src/write-assets.ts [outDir]
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildDashboard } from './build.ts';
import { PREBUILT_MANIFEST, type PrebuiltManifest } from './prebuilt.ts';

const outDir = process.argv[2] ?? fileURLToPath(new URL('../dist/assets/', import.meta.url));
const bundle = await buildDashboard();
rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
for (const asset of [bundle.script, bundle.stylesheet]) {
  writeFileSync(`${outDir}/${asset.name}`, asset.body);
  writeFileSync(`${outDir}/${asset.name}.gz`, asset.gzip);
}
const manifest: PrebuiltManifest = { script: bundle.script.name, stylesheet: bundle.stylesheet.name };
writeFileSync(`${outDir}/${PREBUILT_MANIFEST}`, `${JSON.stringify(manifest, null, 2)}\n`);
process.stdout.write(`dashboard assets: ${manifest.script}, ${manifest.stylesheet} -> ${outDir}\n`);
