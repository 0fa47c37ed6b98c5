import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChildPolicyInput, KeyleashTool } from '@keyleash/client';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { openSessionKey, type SessionKey } from './session-key.ts';
import { createToolServer } from './tool-server.ts';

export interface HttpOptions {
  /** the keyleash the tools call through */
  proxyUrl: string;
  tools: readonly KeyleashTool<any, any>[];
  /** a child key per session, derived at initialize and revoked when the session ends */
  childPolicy?: ChildPolicyInput;
  port?: number;
  host?: string;
  /** the path the MCP endpoint is served at (default /mcp) */
  path?: string;
}

export interface McpHttpServer {
  url: string;
  server: Server;
  /** open sessions, by MCP session id */
  sessions(): ReadonlyMap<string, { keyId?: string }>;
  close(): Promise<void>;
}

interface Session {
  transport: StreamableHTTPServerTransport;
  /** hash of the vault key that opened the session: every later request must present the same */
  keyHash: Buffer;
  key: SessionKey;
}

const hash = (text: string) => createHash('sha256').update(text).digest();

function bearer(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  return auth?.startsWith('Bearer ') ? auth.slice(7).trim() : undefined;
}

function jsonRpcError(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 4 * 1024 * 1024) throw new Error('the request body is over 4 MiB');
    chunks.push(chunk as Buffer);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

/**
 * keyleash tools over MCP Streamable HTTP. Each session is bound to the vault key the client
 * presents as `Authorization: Bearer vk_…` when it initializes (or to a child of it, per session);
 * every later request of the session must present the same key, and a session's tools only ever
 * spend from its own key. Keyleash itself authenticates the key on every tool call.
 */
export async function serveHttp(options: HttpOptions): Promise<McpHttpServer> {
  const path = options.path ?? '/mcp';
  const sessions = new Map<string, Session>();

  async function endSession(id: string): Promise<void> {
    const session = sessions.get(id);
    if (!session) return;
    sessions.delete(id);
    await session.key.end();
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if ((req.url ?? '').split('?')[0] !== path) return jsonRpcError(res, 404, `the MCP endpoint is ${path}`);
    const vaultKey = bearer(req);
    if (!vaultKey?.startsWith('vk_')) return jsonRpcError(res, 401, 'present your keyleash vault key as Authorization: Bearer vk_…');
    const sessionId = req.headers['mcp-session-id'];
    const body = req.method === 'POST' ? await readJson(req) : undefined;

    if (typeof sessionId === 'string') {
      const session = sessions.get(sessionId);
      if (!session) return jsonRpcError(res, 404, 'no such MCP session (it ended, or this server restarted): initialize a new one');
      const presented = hash(vaultKey);
      if (!timingSafeEqual(presented, session.keyHash)) return jsonRpcError(res, 403, 'this MCP session belongs to another vault key');
      return session.transport.handleRequest(req, res, body);
    }
    if (req.method !== 'POST' || !isInitializeRequest(body)) return jsonRpcError(res, 400, 'no mcp-session-id: start with an initialize request');

    let key: SessionKey;
    try {
      key = await openSessionKey({ role: 'mcp', vaultKey, proxyUrl: options.proxyUrl }, options.childPolicy);
    } catch (error) {
      return jsonRpcError(res, 403, `keyleash would not give this session a child key: ${(error as Error).message}`);
    }
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => void sessions.set(id, { transport, keyHash: hash(vaultKey), key }),
      onsessionclosed: (id) => endSession(id),
    });
    transport.onclose = () => {
      if (transport.sessionId) void endSession(transport.sessionId);
      else void key.end();
    };
    const server = createToolServer(options.tools, () => key.credentials);
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) jsonRpcError(res, 400, error instanceof Error ? error.message : String(error));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${address.port}${path}`,
    server,
    sessions: () => new Map([...sessions].map(([id, session]) => [id, session.key.childKeyId ? { keyId: session.key.childKeyId } : {}])),
    async close() {
      await Promise.all([...sessions.values()].map((session) => session.transport.close()));
      await Promise.all([...sessions.keys()].map(endSession));
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
    },
  };
}
