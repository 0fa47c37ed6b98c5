#!/usr/bin/env node
// keyleash-mcp as installed from npm: the compiled CLI under plain node (in the workspace,
// bin/keyleash-mcp.js runs the TypeScript source through tsx instead).
import { main } from './cli.ts';

await main(process.argv.slice(2));
