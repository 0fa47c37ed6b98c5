// Tiny load balancer for `pnpm bench` with several keyleash instances (issue 7). wrk talks to one URL,
// so this spreads its traffic over the instances. Not for production.
//
// env: PORT (0 = ephemeral; the chosen port is printed as `balancer listening on <port>`),
//      TARGETS  comma-separated host:port of the instances,
//      MODE     tcp  (default) round-robin per client connection, bytes piped untouched (cheapest);
//               http round-robin per request over keep-alive undici pools, and, with KEYS_FILE, the
//                    Authorization header is replaced per request by the next vault key in the file
//                    (one `vk_…` per line): the "many keys" load, which wrk's fixed headers cannot make.
//      CONNS    http mode: upstream connections per instance (default 128).
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';

const PORT = +(process.env.PORT ?? 0);
const TARGETS = (process.env.TARGETS ?? '').split(',').filter(Boolean).map((t) => {
  const i = t.lastIndexOf(':');
  return { host: t.slice(0, i) || '127.0.0.1', port: +t.slice(i + 1) };
});
if (TARGETS.length === 0) throw new Error('balancer: TARGETS=host:port,host:port is required');
const MODE = process.env.MODE ?? 'tcp';
let next = 0;
let server;

if (MODE === 'tcp') {
  server = net.createServer((client) => {
    const t = TARGETS[next++ % TARGETS.length];
    const upstream = net.connect(t.port, t.host);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.pipe(upstream);
    upstream.pipe(client);
    const close = () => { client.destroy(); upstream.destroy(); };
    client.on('error', close); upstream.on('error', close);
    client.on('close', close); upstream.on('close', close);
  });
} else if (MODE === 'http') {
  const { Pool } = await import('undici');
  const pools = TARGETS.map((t) => new Pool(`http://${t.host}:${t.port}`, { connections: +process.env.CONNS || 128, keepAliveTimeout: 60_000 }));
  const keys = process.env.KEYS_FILE ? fs.readFileSync(process.env.KEYS_FILE, 'utf8').split('\n').map((s) => s.trim()).filter(Boolean) : [];
  let nextKey = 0;
  const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host']);
  server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const headers = {};
      for (const [k, v] of Object.entries(req.headers)) if (!HOP.has(k)) headers[k] = v;
      if (keys.length) headers.authorization = `Bearer ${keys[nextKey++ % keys.length]}`;
      try {
        const r = await pools[next++ % pools.length].request({ method: req.method, path: req.url, headers, body: chunks.length ? Buffer.concat(chunks) : null });
        const out = {};
        for (const [k, v] of Object.entries(r.headers)) if (!HOP.has(k)) out[k] = v;
        res.writeHead(r.statusCode, out);
        r.body.pipe(res);
      } catch {
        res.writeHead(502);
        res.end();
      }
    });
  });
  server.keepAliveTimeout = 65_000;
} else {
  throw new Error(`balancer: MODE must be tcp or http, not ${MODE}`);
}

server.listen(PORT, '127.0.0.1', () => {
  console.log(`balancer listening on ${server.address().port} (${MODE}, ${TARGETS.length} targets)`);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => process.exit(0));
