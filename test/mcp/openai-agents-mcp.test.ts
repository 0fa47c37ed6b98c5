/**
 * An OpenAI Agents JS agent whose only tool source is keyleash's MCP server (Streamable HTTP and
 * stdio), with the SDK's ScriptedModel: the agent charges through MCP, reads keyleash's refusal
 * as a tool result, and the audit names the MCP client and the tool.
 */
import { join } from 'node:path';
import { Agent, MCPServerStdio, MCPServerStreamableHttp, run, type ModelRequest } from '@openai/agents';
import { ScriptedModel, assistantMessage, functionCall, modelResponder } from '@openai/agents/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MCP_TOOLS, serveHttp, type McpHttpServer } from '../../packages/mcp/src/index.ts';
import { REPO_ROOT } from '../support/keyleash-process.ts';
import { auditOf, issueStripeKey, spendMicros, useStripeStack } from '../stripe/harness.ts';

const stack = useStripeStack({ label: 'agents-mcp' });

/** Charges $6 then $5 under a $10 key, then reports what the tools said. */
function chargingModel() {
  const outputs = (request: ModelRequest) =>
    (Array.isArray(request.input) ? request.input : [])
      .filter((item: any) => item.type === 'function_call_result')
      .map((item: any) => (typeof item.output === 'string' ? item.output : [item.output].flat().map((part: any) => part?.text ?? '').join('')));
  return new ScriptedModel([
    [functionCall('create_payment_intent', { amount: 600, currency: 'usd' }, { callId: 'call_1' })],
    [functionCall('create_payment_intent', { amount: 500, currency: 'usd' }, { callId: 'call_2' })],
    modelResponder((call) => [assistantMessage(`tools said: ${outputs(call.request).join(' | ')}`)]),
  ]);
}

async function runAgent(server: MCPServerStdio | MCPServerStreamableHttp) {
  await server.connect();
  try {
    const agent = new Agent({ name: 'billing', instructions: 'Charge as asked.', model: chargingModel(), mcpServers: [server] });
    return String((await run(agent, 'charge $6, then $5')).finalOutput);
  } finally {
    await server.close();
  }
}

describe('an OpenAI Agents agent using the keyleash MCP server as its tool source', () => {
  let mcp: McpHttpServer;
  beforeAll(async () => {
    mcp = await serveHttp({ proxyUrl: stack.keyleash.url, tools: DEFAULT_MCP_TOOLS });
  });
  afterAll(async () => mcp?.close());

  it('over Streamable HTTP: the first charge goes through, the second is refused and the model reads why', async () => {
    const key = await issueStripeKey(stack, { daily_usd_cap: 10, allowed_endpoints: ['POST /v1/payment_intents'] });
    const before = stack.upstream.requests.length;
    const output = await runAgent(new MCPServerStreamableHttp({ url: mcp.url, name: 'keyleash', requestInit: { headers: { authorization: `Bearer ${key.vault_key}` } } }));
    expect(output).toMatch(/"amount":600/);
    expect(output).toContain('keyleash_daily_cap_reached');
    expect(stack.upstream.requests.length - before).toBe(1);
    expect(await spendMicros(stack, key.id)).toBe(6_000_000);
    const rows = await auditOf(stack, key.id);
    expect(rows.map((row) => [row.attribution.tool, row.decision])).toEqual([
      ['create_payment_intent', 'allowed'],
      ['create_payment_intent', 'refused'],
    ]);
    expect(rows[0].attribution.agent).toMatch(/^mcp:./);
  });

  it('over stdio: the same, with keyleash-mcp started by the Agents SDK', async () => {
    const key = await issueStripeKey(stack, { daily_usd_cap: 10, allowed_endpoints: ['POST /v1/payment_intents'] });
    const output = await runAgent(
      new MCPServerStdio({
        name: 'keyleash',
        command: process.execPath,
        args: [join(REPO_ROOT, 'packages/mcp/bin/keyleash-mcp.js'), 'stdio', '--tools', 'create_payment_intent'],
        // the server runs from TypeScript source: give its first start time on a busy box
        clientSessionTimeoutSeconds: 60,
        env: { PATH: process.env.PATH ?? '', KEYLEASH_URL: stack.keyleash.url, KEYLEASH_VAULT_KEY: key.vault_key },
      }),
    );
    expect(output).toContain('keyleash_daily_cap_reached');
    expect((await auditOf(stack, key.id)).map((row) => row.decision)).toEqual(['allowed', 'refused']);
  });
});
