import type { AgentCredentials, ChildPolicyInput, KeyleashTool } from '@keyleash/client';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { openSessionKey } from './session-key.ts';
import { createToolServer } from './tool-server.ts';

export interface StdioOptions {
  /** the key every tool call spends from (from the MCP client's configuration: KEYLEASH_VAULT_KEY) */
  credentials: AgentCredentials;
  tools: readonly KeyleashTool<any, any>[];
  /** a child key for this session, derived at start and revoked at the end */
  childPolicy?: ChildPolicyInput;
}

/**
 * An MCP server over stdin/stdout: one session for the life of the process, bound to one vault key
 * (or to a child of it). Resolves when the client closes the connection, after the child is revoked.
 */
export async function serveStdio(options: StdioOptions): Promise<void> {
  const key = await openSessionKey(options.credentials, options.childPolicy);
  const server = createToolServer(options.tools, () => key.credentials);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => (server.server.onclose = resolve));
  // the client ends a stdio session by closing our stdin
  process.stdin.once('end', () => void server.close());
  await server.connect(transport);
  await closed;
  await key.end();
}
