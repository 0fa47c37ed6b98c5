import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { CliError } from './api-client.ts';

/**
 * `keyleash mcp …` runs the MCP server of `@keyleash/mcp` when that package is installed next to
 * keyleash (resolved from the working directory, then from here). The proxy never depends on it:
 * the MCP server is a client of keyleash (adapters -> client -> core), so it is loaded only on demand.
 */
function resolveMcpCli(): string {
  for (const base of [join(process.cwd(), 'package.json'), import.meta.filename]) {
    try {
      return createRequire(base).resolve('@keyleash/mcp/cli');
    } catch {
      // try the next place
    }
  }
  throw new CliError('keyleash mcp needs the @keyleash/mcp package: add it to your project (it also installs the keyleash-mcp command)');
}

export function registerMcpCommand(program: Command): void {
  program
    .command('mcp')
    .description("serve keyleash's Stripe and Twilio tools over MCP (stdio or Streamable HTTP); needs @keyleash/mcp. `keyleash mcp --help` for its options")
    .argument('[args...]', 'stdio | http, and the options of keyleash-mcp')
    .allowUnknownOption()
    .helpOption(false)
    .action(async (args: string[]) => {
      const cli = (await import(pathToFileURL(resolveMcpCli()).href)) as { main(argv: readonly string[]): Promise<void> };
      await cli.main(args);
    });
}
