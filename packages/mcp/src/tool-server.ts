import { refusalToolResult, runTool, toolOutputText, type AgentCredentials, type KeyleashTool } from '@keyleash/client';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';

export const SERVER_INFO = { name: 'keyleash', version: '0.1.0' };

/**
 * One MCP server (one session) offering keyleash tools under one key. A refusal (cap reached,
 * endpoint not allowed, key revoked…) is an MCP tool error (`isError: true`) whose text says what
 * happened and not to retry: the model reads it; it is not a protocol failure. Every call's audit
 * row names the MCP client (`agent`: `mcp:<client name>`) and the tool.
 */
export function createToolServer(tools: readonly KeyleashTool<any, any>[], credentials: () => AgentCredentials): McpServer {
  const server = new McpServer(SERVER_INFO, { capabilities: { tools: {} } });
  for (const tool of tools) {
    server.registerTool(tool.name, { description: tool.description, inputSchema: tool.input }, async (input: unknown, extra: { sessionId?: string | undefined; requestId: string | number }) => {
      const client = server.server.getClientVersion()?.name ?? 'unknown-client';
      const outcome = await runTool(tool, { ...credentials(), role: `mcp:${client}` }, input, { toolCallId: `mcp-${extra.sessionId ?? 'stdio'}-${String(extra.requestId)}` });
      if (!outcome.ok) return { isError: true, content: [{ type: 'text' as const, text: refusalToolResult(tool.name, outcome.refusal) }] };
      return { content: [{ type: 'text' as const, text: toolOutputText(outcome.output) }] };
    });
  }
  return server;
}
