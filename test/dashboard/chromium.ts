/**
 * Real headless Chromium driven by playwright-core, for the dashboard's browser tests: the
 * machine's Chromium when it has one, else the headless build that the npm package
 * @sparticuz/chromium ships (unpacked into the temp directory on first use), so the browser tests
 * run on any machine with Node and npm and never skip. Screenshots go to test-artifacts/dashboard/
 * (gitignored).
 *
 * KEYLEASH_CHROMIUM=<path> uses that binary; KEYLEASH_CHROMIUM=npm ignores any system Chromium (to
 * exercise the npm path on a machine that has one).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { REPO_ROOT } from '../support/keyleash-process.ts';

export const ARTIFACTS = join(REPO_ROOT, 'test-artifacts', 'dashboard');

const SYSTEM_CHROMIUMS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome-stable', '/usr/bin/google-chrome'];

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function chromiumExecutable(): Promise<{ path: string; source: string }> {
  const choice = process.env.KEYLEASH_CHROMIUM;
  if (choice && choice !== 'npm') return { path: choice, source: 'KEYLEASH_CHROMIUM' };
  const system = choice === 'npm' ? undefined : SYSTEM_CHROMIUMS.find((path) => existsSync(path));
  if (system) return { path: system, source: 'system' };
  const { default: npmChromium } = await import('@sparticuz/chromium');
  return { path: await npmChromium.executablePath(), source: '@sparticuz/chromium' };
}

export async function launchChromium(): Promise<Browser> {
  const { path } = await chromiumExecutable();
  return chromium.launch({ executablePath: path, args: ARGS });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}
