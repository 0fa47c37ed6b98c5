// Opens connections and warms a proxy before measuring: CONNS concurrent closed loops for SECONDS,
// or, with REQUESTS, until that many requests have been answered (SECONDS is then the upper bound).
// A JIT warms up per request, not per second: a slower target (several instances sharing the
// load, each compiling its own code) needs longer to get the same number of requests.
// usage: node warm.mjs URL VAULT_KEY CONNS SECONDS [REQUESTS]
import { Pool } from 'undici';

const [url, key, conns = '16', seconds = '2', requests = '0'] = process.argv.slice(2);
const target = new URL(url);
const pool = new Pool(target.origin, { connections: +conns });
const body = 'amount=2000&currency=usd&payment_method_types[]=card';
const deadline = Date.now() + +seconds * 1000;
const wanted = +requests;
let ok = 0;
let bad = 0;
const more = () => Date.now() < deadline && (wanted === 0 || ok + bad < wanted);
await Promise.all(
  Array.from({ length: +conns }, async () => {
    while (more()) {
      const r = await pool.request({
        method: 'POST',
        path: target.pathname,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      await r.body.arrayBuffer();
      if (r.statusCode < 300) ok++;
      else bad++;
    }
  }),
);
await pool.close();
console.log(`warm-up: ${ok} ok, ${bad} non-2xx${wanted && ok + bad < wanted ? ` (stopped at ${seconds} s, short of ${wanted})` : ''}`);
process.exit(bad && !ok ? 1 : 0);
