// Opens connections and warms a proxy before measuring: CONNS concurrent closed loops for SECONDS.
// usage: node warm.mjs URL VAULT_KEY CONNS SECONDS
import { Pool } from 'undici';

const [url, key, conns = '16', seconds = '2'] = process.argv.slice(2);
const target = new URL(url);
const pool = new Pool(target.origin, { connections: +conns });
const body = 'amount=2000&currency=usd&payment_method_types[]=card';
const until = Date.now() + +seconds * 1000;
let ok = 0;
let bad = 0;
await Promise.all(
  Array.from({ length: +conns }, async () => {
    while (Date.now() < until) {
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
console.log(`warm-up: ${ok} ok, ${bad} non-2xx`);
process.exit(bad && !ok ? 1 : 0);
