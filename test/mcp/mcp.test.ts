/**
 * keyleash's tools over MCP, driven by the MCP SDK's own client over stdio (the keyleash-mcp
 * process, as an MCP host would start it) and over Streamable HTTP, against a real keyleash and
 * the fake Stripe: a call spends from the session's key, a refusal is an MCP tool error the model
 * can read (and reaches no upstream), the audit names the MCP client and the tool, and a
 * per-session child key dies with its session.
 */
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveHttp, type McpHttpServer } from '../../packages/mcp/src/index.ts';
import { DEFAULT_MCP_TOOLS } from '../../packages/mcp/src/tools.ts';
import { REPO_ROOT } from '../support/keyleash-process.ts';
import { auditOf, issueStripeKey, spendMicros, useStripeStack } from '../stripe/harness.ts';

const stack = useStripeStack({ label: 'mcp' });

type ToolResult = { isError?: boolean; content: { type: string; text: string }[] };
const text = (result: unknown) => (result as ToolResult).content.map((part) => part.text).join('');

async function keyStatus(id: string): Promise<string> {
  return (await stack.api.call('GET', `/api/vault_keys/${id}`)).body.status;
}

describe('MCP over stdio (keyleash-mcp as an MCP host starts it)', () => {
  function stdioClient(vaultKey: string, extraArgs: string[] = []) {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [join(REPO_ROOT, 'packages/mcp/bin/keyleash-mcp.js'), 'stdio', ...extraArgs],
      env: { PATH: process.env.PATH ?? '', KEYLEASH_URL: stack.keyleash.url, KEYLEASH_VAULT_KEY: vaultKey },
      stderr: 'pipe',
    });
    return { transport, client: new Client({ name: 'stdio-test-host', version: '1.0.0' }) };
  }

  it('lists the neutral tools, charges under the configured key, and returns a cap refusal as a tool error naming the code', async () => {
    const key = await issueStripeKey(stack, { daily_usd_cap: 10, allowed_endpoints: ['POST /v1/payment_intents'] });
    const { client, transport } = stdioClient(key.vault_key);
    await client.connect(transport);
    try {
      const tools = await client.listTools();
      expect(tools.tools.map((tool) => tool.name).sort()).toEqual(DEFAULT_MCP_TOOLS.map((tool) => tool.name).sort());
      expect(tools.tools.find((tool) => tool.name === 'create_payment_intent')!.inputSchema).toMatchObject({ type: 'object', required: ['amount', 'currency'] });

      const ok = await client.callTool({ name: 'create_payment_intent', arguments: { amount: 600, currency: 'usd' } });
      expect(ok.isError).toBeFalsy();
      expect(JSON.parse(text(ok))).toMatchObject({ amount: 600, currency: 'usd' });

      const before = stack.upstream.requests.length;
      const refused = await client.callTool({ name: 'create_payment_intent', arguments: { amount: 500, currency: 'usd' } });
      expect(refused.isError).toBe(true);
      expect(text(refused)).toContain('keyleash_daily_cap_reached');
      expect(text(refused)).toContain('Do not retry');
      expect(stack.upstream.requests.length).toBe(before);

      const outside = await client.callTool({ name: 'create_refund', arguments: { payment_intent: 'pi_123' } });
      expect(outside.isError).toBe(true);
      expect(text(outside)).toContain('keyleash_endpoint_not_allowed');
    } finally {
      await client.close();
    }
    const rows = await auditOf(stack, key.id);
    expect(rows.map((row) => [row.attribution.agent, row.attribution.tool, row.decision])).toEqual([
      ['mcp:stdio-test-host', 'create_payment_intent', 'allowed'],
      ['mcp:stdio-test-host', 'create_payment_intent', 'refused'],
      ['mcp:stdio-test-host', 'create_refund', 'refused'],
    ]);
    expect(await spendMicros(stack, key.id)).toBe(6_000_000);
  });

  it('with --child-policy, runs the session on its own child key and revokes it when the client disconnects', async () => {
    const key = await issueStripeKey(stack, { daily_usd_cap: 50, allowed_endpoints: ['POST /v1/payment_intents'] });
    const { client, transport } = stdioClient(key.vault_key, ['--child-policy', JSON.stringify({ daily_usd_cap: 3, metadata: { session: 'stdio' } })]);
    await client.connect(transport);
    await client.callTool({ name: 'create_payment_intent', arguments: { amount: 200, currency: 'usd' } });
    const overChild = await client.callTool({ name: 'create_payment_intent', arguments: { amount: 200, currency: 'usd' } });
    expect(overChild.isError).toBe(true);
    expect(text(overChild)).toContain('keyleash_daily_cap_reached');
    const [child] = (await stack.api.call('GET', `/api/vault_keys?root_id=${key.id}`)).body.data.filter((k: { parent_id: string | null }) => k.parent_id === key.id);
    expect(child.policy.daily_usd_cap).toBe(3);
    expect(await spendMicros(stack, key.id)).toBe(2_000_000); // the child's spend counts against the configured key
    await client.close();
    const deadline = Date.now() + 10_000;
    while ((await keyStatus(child.id)) !== 'revoked' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await keyStatus(child.id)).toBe('revoked');
    expect(await keyStatus(key.id)).toBe('active');
  });
});

describe('MCP over Streamable HTTP (one server, a vault key per session)', () => {
  let mcp: McpHttpServer;
  beforeAll(async () => {
    mcp = await serveHttp({ proxyUrl: stack.keyleash.url, tools: DEFAULT_MCP_TOOLS, childPolicy: { daily_usd_cap: 4 } });
  });
  afterAll(async () => mcp?.close());

  function httpClient(vaultKey: string, name: string) {
    const transport = new StreamableHTTPClientTransport(new URL(mcp.url), { requestInit: { headers: { authorization: `Bearer ${vaultKey}` } } });
    return { transport, client: new Client({ name, version: '1.0.0' }) };
  }

  it('binds each session to the key in its Authorization header, each with its own child key, revoked when the session ends', async () => {
    const alice = await issueStripeKey(stack, { daily_usd_cap: 20, allowed_endpoints: ['POST /v1/payment_intents'] });
    const bob = await issueStripeKey(stack, { daily_usd_cap: 20, allowed_endpoints: ['POST /v1/payment_intents'] });
    const a = httpClient(alice.vault_key, 'alice-host');
    const b = httpClient(bob.vault_key, 'bob-host');
    await a.client.connect(a.transport);
    await b.client.connect(b.transport);
    expect(mcp.sessions().size).toBe(2);

    expect((await a.client.callTool({ name: 'create_payment_intent', arguments: { amount: 300, currency: 'usd' } })).isError).toBeFalsy();
    expect((await b.client.callTool({ name: 'create_payment_intent', arguments: { amount: 100, currency: 'usd' } })).isError).toBeFalsy();
    const overSession = await a.client.callTool({ name: 'create_payment_intent', arguments: { amount: 200, currency: 'usd' } });
    expect(overSession.isError).toBe(true);
    expect(text(overSession)).toContain('keyleash_daily_cap_reached');
    expect(await spendMicros(stack, alice.id)).toBe(3_000_000);
    expect(await spendMicros(stack, bob.id)).toBe(1_000_000);

    // a session cannot be used with another key
    const hijack = await fetch(mcp.url, {
      method: 'POST',
      headers: { authorization: `Bearer ${bob.vault_key}`, 'mcp-session-id': a.transport.sessionId!, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'create_payment_intent', arguments: { amount: 100, currency: 'usd' } } }),
    });
    expect(hijack.status).toBe(403);
    expect(await fetch(mcp.url, { method: 'POST', body: '{}' }).then((r) => r.status)).toBe(401);

    const rows = await auditOf(stack, alice.id);
    expect(rows).toHaveLength(0); // alice's calls ran on her session's child key
    const sessionKeys = [...mcp.sessions().values()].map((s) => s.keyId!);
    const childRows = (await Promise.all(sessionKeys.map((id) => auditOf(stack, id)))).flat();
    expect(childRows.filter((row) => row.attribution.agent === 'mcp:alice-host').map((row) => [row.attribution.tool, row.decision])).toEqual([
      ['create_payment_intent', 'allowed'],
      ['create_payment_intent', 'refused'],
    ]);

    await a.transport.terminateSession();
    await a.client.close();
    expect(mcp.sessions().size).toBe(1);
    const statuses = await Promise.all(sessionKeys.map(keyStatus));
    expect(statuses.filter((s) => s === 'revoked')).toHaveLength(1);
    await b.transport.terminateSession();
    await b.client.close();
    expect(await Promise.all(sessionKeys.map(keyStatus))).toEqual(['revoked', 'revoked']);
  });
});
