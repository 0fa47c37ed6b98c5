/**
 * keyleash-mcp (also `keyleash mcp`): keyleash's tools as an MCP server.
 *   keyleash-mcp stdio [--tools a,b] [--child-policy '{"daily_usd_cap":5}']     key: KEYLEASH_VAULT_KEY
 *   keyleash-mcp http --port 8790 [--host 127.0.0.1] [--tools …] [--child-policy …]   key: each client's Authorization header
 * The keyleash URL is KEYLEASH_URL (default http://127.0.0.1:8787). Nothing but MCP goes to stdout.
 */
import { parseArgs } from 'node:util';
import { resolveProxyUrl, resolveVaultKey, type ChildPolicyInput } from '@keyleash/client';
import { serveHttp } from './http.ts';
import { serveStdio } from './stdio.ts';
import { selectTools } from './tools.ts';

const USAGE = `usage: keyleash-mcp stdio|http [--port N] [--host H] [--tools name,name] [--child-policy JSON]
  stdio: one session, the vault key from KEYLEASH_VAULT_KEY
  http:  Streamable HTTP at /mcp, each session bound to the vault key in its Authorization: Bearer header
  --child-policy: give each session its own child key with this policy (JSON), revoked when the session ends
  KEYLEASH_URL: the keyleash to call through (default http://127.0.0.1:8787)`;

export async function main(argv: readonly string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      port: { type: 'string', default: '8790' },
      host: { type: 'string', default: '127.0.0.1' },
      tools: { type: 'string' },
      'child-policy': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const mode = positionals[0];
  if (values.help || (mode !== 'stdio' && mode !== 'http')) {
    process.stderr.write(`${USAGE}\n`);
    if (!values.help) process.exitCode = 2;
    return;
  }
  const tools = selectTools(values.tools?.split(',').map((name) => name.trim()).filter(Boolean));
  const childPolicy = values['child-policy'] ? (JSON.parse(values['child-policy']) as ChildPolicyInput) : undefined;
  const proxyUrl = resolveProxyUrl();
  if (mode === 'stdio') {
    await serveStdio({ credentials: { role: 'mcp', vaultKey: resolveVaultKey(), proxyUrl }, tools, ...(childPolicy ? { childPolicy } : {}) });
    return;
  }
  const http = await serveHttp({ proxyUrl, tools, port: Number(values.port), host: values.host, ...(childPolicy ? { childPolicy } : {}) });
  process.stderr.write(`keyleash MCP server (Streamable HTTP) listening on ${http.url}, tools: ${tools.map((t) => t.name).join(', ')}\n`);
  const stop = () => void http.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
