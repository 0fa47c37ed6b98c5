// Compares two proxy-overhead.sh runs (raw.jsonl of each, kept with --out) made against the same
// upstream in the same session: the bare undici pass-through (the ceiling) and keyleash.
// usage: node compare.mjs BARE_RAW.jsonl KEYLEASH_RAW.jsonl RATIO_CONNS LATENCY_CONNS [LABEL]
import fs from 'node:fs';

const [bareFile, klFile, ratioC, latC, label = 'keyleash'] = process.argv.slice(2);
const load = (f) => fs.readFileSync(f, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
const med = (xs) => {
  const s = xs.filter((x) => x != null && Number.isFinite(x)).sort((a, b) => a - b);
  const n = s.length;
  return n ? (n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2) : NaN;
};
const f = (x, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');

/** per conns: medians over rounds, paired with the same round's direct run like summarize.mjs */
function stats(rows) {
  const out = {};
  for (const c of [...new Set(rows.map((r) => r.conns))]) {
    const pairs = [];
    for (const r of [...new Set(rows.filter((x) => x.conns === c).map((x) => x.round))]) {
      const d = rows.find((x) => x.conns === c && x.round === r && x.target === 'upstream');
      const p = rows.find((x) => x.conns === c && x.round === r && x.target === 'proxy');
      if (d && p) pairs.push({ d, p });
    }
    out[c] = {
      rpsDirect: med(pairs.map(({ d }) => d.rps)),
      rpsProxy: med(pairs.map(({ p }) => p.rps)),
      ratio: med(pairs.map(({ d, p }) => p.rps / d.rps)),
      add50: med(pairs.map(({ d, p }) => p.p50_us - d.p50_us)) / 1e3,
      add99: med(pairs.map(({ d, p }) => p.p99_us - d.p99_us)) / 1e3,
      cpu: med(pairs.map(({ p }) => p.proxy_cpu_us_req)),
      errors: pairs.reduce((n, { p }) => n + (p.errors || 0) + (p.non2xx || 0), 0),
    };
  }
  return out;
}

const bare = stats(load(bareFile));
const kl = stats(load(klFile));
const conns = Object.keys(kl).map(Number).sort((a, b) => a - b);
const rc = ratioC ? +ratioC : conns[conns.length - 1];
const lc = latC ? +latC : conns[0];

console.log('');
console.log(`=== ${label} vs bare undici pass-through (same upstream, same session) ===`);
console.log('conns | bare req/s | keyleash req/s | keyleash/bare | bare/direct | kl/direct | bare CPU us/req | kl CPU us/req | CPU kl/bare');
console.log('------|------------|----------------|---------------|-------------|-----------|-----------------|---------------|------------');
for (const c of conns) {
  const b = bare[c], k = kl[c];
  if (!b || !k) continue;
  console.log(
    `${String(c).padStart(5)} | ${f(b.rpsProxy, 0).padStart(10)} | ${f(k.rpsProxy, 0).padStart(14)} | ${f(k.rpsProxy / b.rpsProxy).padStart(13)} | ` +
      `${f(b.ratio).padStart(11)} | ${f(k.ratio).padStart(9)} | ${f(b.cpu, 1).padStart(15)} | ${f(k.cpu, 1).padStart(13)} | ${f(k.cpu / b.cpu, 2).padStart(10)}`,
  );
}
const b = bare[rc], k = kl[rc], bl = bare[lc], kll = kl[lc];
if (!b || !k || !bl || !kll) {
  console.log('summary: n/a (missing conns)');
  process.exit(1);
}
console.log('');
// the goals are issue 14's first targets
console.log(`throughput at ${rc} conns: keyleash ${f(k.rpsProxy, 0)} req/s vs bare ${f(b.rpsProxy, 0)} req/s -> ${f(k.rpsProxy / b.rpsProxy)} (goal >= 0.7) ` +
  `(harness ratio_rps vs direct: keyleash ${f(k.ratio)}, bare ${f(b.ratio)}; keyleash/bare of those ${f(k.ratio / b.ratio)})`);
console.log(`added latency at ${lc} conn(s): bare p50 ${f(bl.add50)} ms p99 ${f(bl.add99)} ms; keyleash p50 ${f(kll.add50)} ms p99 ${f(kll.add99)} ms (goal: keyleash p50 <= 0.3 ms, p99 within 1 ms of bare's)`);
console.log(`proxy CPU per request at ${rc} conns: bare ${f(b.cpu, 1)} us, keyleash ${f(k.cpu, 1)} us -> ${f(k.cpu / b.cpu, 2)}x (goal <= 1.5x); ` +
  `at ${lc} conn(s): bare ${f(bl.cpu, 1)} us, keyleash ${f(kll.cpu, 1)} us -> ${f(kll.cpu / bl.cpu, 2)}x (goal <= 2x)`);
if (k.errors || b.errors) console.log(`WARNING errors/non-2xx in measured runs: bare ${b.errors}, keyleash ${k.errors}`);
console.log(
  `RESULT ratio_rps=${f(k.ratio / b.ratio)} ratio_rps_raw=${f(k.rpsProxy / b.rpsProxy)} keyleash_rps=${f(k.rpsProxy, 0)} bare_rps=${f(b.rpsProxy, 0)} ` +
    `bare_added_p50_ms=${f(bl.add50)} bare_added_p99_ms=${f(bl.add99)} keyleash_added_p50_ms=${f(kll.add50)} keyleash_added_p99_ms=${f(kll.add99)} ` +
    `bare_cpu_us_req=${f(b.cpu, 1)} keyleash_cpu_us_req=${f(k.cpu, 1)} cpu_ratio=${f(k.cpu / b.cpu, 2)} ratio_conns=${rc} latency_conns=${lc}`,
);
