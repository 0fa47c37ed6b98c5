// Issues N uncapped Stripe vault keys for the bench and prints them, one per line.
// usage: node issue-keys.mjs KEYLEASH_URL ADMIN_TOKEN N
// Uncapped (daily_usd_cap null, no total cap, no rate limit) so no run can exhaust a key; the
// request is still priced, reserved, settled and audited like a capped one.
const [url, token, count = '1'] = process.argv.slice(2);
const n = Number(count);
if (!url || !token || !Number.isInteger(n) || n < 1) {
  console.error('usage: node issue-keys.mjs KEYLEASH_URL ADMIN_TOKEN N');
  process.exit(2);
}
const keys = [];
for (let i = 0; i < n; i++) {
  const res = await fetch(`${url}/api/vault_keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      vendor: 'stripe',
      daily_usd_cap: null,
      allowed_endpoints: ['POST /v1/payment_intents'],
      expires_in: '24h',
      metadata: { role: 'bench', n: String(i) },
    }),
  });
  const text = await res.text();
  if (res.status !== 201) {
    console.error(`issue-keys: POST /api/vault_keys answered ${res.status}: ${text.slice(0, 300)}`);
    process.exit(1);
  }
  keys.push(JSON.parse(text).vault_key);
}
console.log(keys.join('\n'));
