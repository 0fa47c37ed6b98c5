export { DEFAULT_MCP_TOOLS, selectTools } from './tools.ts';
export { createToolServer, SERVER_INFO } from './tool-server.ts';
export { openSessionKey, type SessionKey } from './session-key.ts';
export { serveStdio, type StdioOptions } from './stdio.ts';
export { serveHttp, type HttpOptions, type McpHttpServer } from './http.ts';
export { main } from './cli.ts';
