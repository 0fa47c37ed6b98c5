/**
 * The bundle `write-assets.ts` wrote at package build time, beside this module in dist/assets/.
 * An installed keyleash serves these files as they are (no esbuild at run time); in the
 * workspace, where this module runs from src/, there are none and the proxy bundles at start.
 */
import { existsSync, readFileSync } from 'node:fs';
import { builtAsset, type DashboardBundle } from './build.ts';

export const PREBUILT_DIR = new URL('./assets/', import.meta.url);
export const PREBUILT_MANIFEST = 'manifest.json';

export interface PrebuiltManifest {
  script: string;
  stylesheet: string;
}

export function loadPrebuiltDashboard(dir: URL = PREBUILT_DIR): DashboardBundle | undefined {
  const manifestUrl = new URL(PREBUILT_MANIFEST, dir);
  if (!existsSync(manifestUrl)) return undefined;
  const manifest = JSON.parse(readFileSync(manifestUrl, 'utf8')) as PrebuiltManifest;
  const read = (name: string) => builtAsset(name, readFileSync(new URL(name, dir)), readFileSync(new URL(`${name}.gz`, dir)));
  return { script: read(manifest.script), stylesheet: read(manifest.stylesheet) };
}
