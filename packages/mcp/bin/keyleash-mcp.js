#!/usr/bin/env node
// In the workspace: the TypeScript source through tsx (the package from npm runs dist/bin.js).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
await main(process.argv.slice(2));
