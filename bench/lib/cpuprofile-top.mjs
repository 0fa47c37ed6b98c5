// Summarises a V8 .cpuprofile (BENCH_CPU_PROF=1): top functions by self and inclusive time.
// usage: node cpuprofile-top.mjs FILE.cpuprofile [N]
// Samples are wall-clock on the main thread: time in a synchronous SQLite call or a blocking
// syscall counts; time waiting in the event loop shows as (idle).
import fs from 'node:fs';

const [file, topN = '30'] = process.argv.slice(2);
if (!file) {
  console.error('usage: node cpuprofile-top.mjs FILE.cpuprofile [N]');
  process.exit(2);
}
const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const perNode = new Map();
profile.samples.forEach((id, i) => perNode.set(id, (perNode.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...perNode.values()].reduce((a, b) => a + b, 0);
const name = (n) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*?\/packages\//, '')}:${n.callFrame.lineNumber + 1}`;
const self = new Map();
const inclusive = new Map();
for (const [id, t] of perNode) {
  const k = name(nodes.get(id));
  self.set(k, (self.get(k) ?? 0) + t);
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const key = name(nodes.get(cur));
    if (seen.has(key)) continue;
    seen.add(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + t);
  }
}
// shares of busy time: a bench's profile covers its idle gaps too, which would drown the rest
const idle = self.get('(idle) :0') ?? 0;
const busy = total - idle;
self.delete('(idle) :0');
inclusive.delete('(idle) :0');
inclusive.delete('(root) :0');
const show = (m) => [...m].sort((a, b) => b[1] - a[1]).slice(0, +topN).map(([k, t]) => `${((100 * t) / busy).toFixed(1).padStart(5)}%  ${k}`).join('\n');
console.log(`${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (percentages below are of busy time)`);
console.log(`--- self ---\n${show(self)}\n--- inclusive ---\n${show(inclusive)}`);
