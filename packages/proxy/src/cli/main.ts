#!/usr/bin/env node
import { Command } from 'commander';
import type { ServeFlags } from '../config.ts';
import { CliError, type CliConnection } from './api-client.ts';
import { registerApprovalCommands } from './approvals.ts';
import { registerAuditCommands } from './audit.ts';
import { registerKeyCommands } from './keys.ts';
import { registerMcpCommand } from './mcp.ts';
import { registerMigrateCommand } from './migrate.ts';
import { registerSpendCommand } from './spend.ts';

const program = new Command('keyleash')
  .description('keyleash: a credential proxy for AI agents (vault keys with caps, scopes, expiry, child keys and an audit log)')
  .option('--url <url>', 'the keyleash server for management commands (env KEYLEASH_URL)', process.env.KEYLEASH_URL ?? 'http://127.0.0.1:8787')
  .option('--admin-token <token>', 'admin token (env KEYLEASH_ADMIN_TOKEN)');

const connection = (): CliConnection => {
  const options = program.opts<{ url: string; adminToken?: string }>();
  return { url: options.url, adminToken: options.adminToken ?? process.env.KEYLEASH_ADMIN_TOKEN };
};

program
  .command('serve')
  .description('run the proxy')
  .option('--port <port>', 'port (env KEYLEASH_PORT, default 8787)')
  .option('--host <host>', 'interface (env KEYLEASH_HOST, default 127.0.0.1)')
  .option('--store <url>', 'sqlite:<path> (default sqlite:./.keyleash/keyleash.db) or postgres://… (env KEYLEASH_STORE)')
  .option('--upstream <host=url>', 'send a vendor host elsewhere, e.g. api.stripe.com=http://127.0.0.1:12111 (repeatable; env KEYLEASH_UPSTREAMS)', (v: string, p: string[] = []) => [...p, v])
  .option('--fx-table <file>', 'replace the dated FX table (JSON; env KEYLEASH_FX_TABLE)')
  .option('--twilio-price-table <file>', 'replace the dated Twilio price table (JSON; env KEYLEASH_TWILIO_PRICE_TABLE)')
  .option('--openai-price-table <file>', 'replace the dated OpenAI model price table (JSON; env KEYLEASH_OPENAI_PRICE_TABLE)')
  .option('--max-key-depth <n>', 'how deep child keys may nest (default 5)')
  .option('--alert-thresholds <fractions>', 'spend alerts for every capped key without its own, e.g. 0.5,0.8,1 (env KEYLEASH_ALERT_THRESHOLDS)')
  .option('--alert-webhook-url <url>', 'where those alerts are POSTed, signed with env KEYLEASH_WEBHOOK_SECRET (env KEYLEASH_ALERT_WEBHOOK_URL)')
  .option(
    '--max-body <[host=]size>',
    'largest request body read: <size> for every vendor host (default 1MiB), <host>=<size> for one (default files.stripe.com=32MiB); binary units (512KiB, 1MiB); larger bodies get 413 (repeatable; env KEYLEASH_MAX_BODY)',
    (v: string, p: string[] = []) => [...p, v],
  )
  // the server and its store drivers load only for `serve`: `keys list` and friends start in ~0.1 s
  .action(async (flags: ServeFlags) => (await import('./serve.ts')).serve(flags));

registerKeyCommands(program, connection);
registerAuditCommands(program, connection);
registerSpendCommand(program, connection);
registerApprovalCommands(program, connection);
registerMigrateCommand(program);
registerMcpCommand(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`keyleash: ${error instanceof CliError || error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
