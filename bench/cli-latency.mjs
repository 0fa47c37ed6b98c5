#!/usr/bin/env node
/**
 * How long one CLI command takes, end to end (process start to exit), as a user at a shell sees it.
 *   node bench/cli-latency.mjs [--runs N] [--label TEXT] -- COMMAND [ARGS...]
 * Runs the command N times (default 15) after one unmeasured warm-up run and prints min, median
 * and p90 wall time in ms; exits non-zero if any run fails. The command inherits the environment
 * (KEYLEASH_URL, KEYLEASH_ADMIN_TOKEN).
 */
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';

const argv = process.argv.slice(2);
const split = argv.indexOf('--');
if (split < 0 || split === argv.length - 1) {
  process.stderr.write('usage: node bench/cli-latency.mjs [--runs N] [--label TEXT] -- COMMAND [ARGS...]\n');
  process.exit(2);
}
const options = argv.slice(0, split);
const [command, ...args] = argv.slice(split + 1);
const option = (name, fallback) => {
  const i = options.indexOf(name);
  return i >= 0 && options[i + 1] !== undefined ? options[i + 1] : fallback;
};
const runs = Number(option('--runs', '15'));
const label = option('--label', [command, ...args].join(' '));

const once = () => {
  const start = performance.now();
  const result = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'], env: process.env });
  const ms = performance.now() - start;
  if (result.status !== 0) {
    process.stderr.write(`cli-latency: ${label} failed (exit ${result.status ?? result.signal}): ${String(result.stderr).trim()}\n`);
    process.exit(1);
  }
  return ms;
};

once();
const times = Array.from({ length: runs }, once).sort((a, b) => a - b);
const at = (q) => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)];
const fmt = (ms) => `${Math.round(ms)} ms`;
process.stdout.write(`${label}: min ${fmt(times[0])}, median ${fmt(at(0.5))}, p90 ${fmt(at(0.9))} (${runs} runs)\n`);
