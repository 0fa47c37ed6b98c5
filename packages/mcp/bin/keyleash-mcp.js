#!/usr/bin/env node
// The packages run from TypeScript source (no publish build yet): load tsx, then the CLI.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
await main(process.argv.slice(2));
