import type { Command } from 'commander';
import { callApi, CliError, type CliConnection } from './api-client.ts';
import { renderTable, usd } from './table.ts';

interface AuditJson {
  seq: number;
  at: string;
  vault_key_id: string | null;
  method: string;
  path: string;
  status: number;
  decision: string;
  reason: string | null;
  settled_usd: number;
  attribution: Record<string, string>;
}

export function registerAuditCommands(program: Command, connection: () => CliConnection): void {
  const audit = program
    .command('audit')
    .description('the audit log, newest first')
    .option('--key <id>', 'only this vault key')
    .option('--root <id>', 'only this key tree')
    .option('--metadata <field=value>', 'filter on key metadata (repeatable)', (v: string, p: string[] = []) => [...p, v])
    .option('--since <rfc3339>')
    .option('--until <rfc3339>')
    .option('--decision <allowed|refused>')
    .option('--limit <n>', 'rows', '50')
    .option('--json', 'machine-readable output')
    .action(async (flags: { key?: string; root?: string; metadata?: string[]; since?: string; until?: string; decision?: string; limit: string; json?: boolean }) => {
      const params = new URLSearchParams({ limit: flags.limit });
      if (flags.key) params.set('vault_key_id', flags.key);
      if (flags.root) params.set('root_key_id', flags.root);
      if (flags.since) params.set('since', flags.since);
      if (flags.until) params.set('until', flags.until);
      if (flags.decision) params.set('decision', flags.decision);
      for (const pair of flags.metadata ?? []) {
        const at = pair.indexOf('=');
        if (at <= 0) throw new CliError(`--metadata "${pair}": expected field=value`);
        params.append(`metadata.${pair.slice(0, at)}`, pair.slice(at + 1));
      }
      const result = (await callApi(connection(), 'GET', `/api/audit?${params}`)) as { data: AuditJson[] };
      if (flags.json) return void process.stdout.write(`${JSON.stringify(result.data, null, 2)}\n`);
      process.stdout.write(
        renderTable(
          ['SEQ', 'AT', 'KEY', 'REQUEST', 'STATUS', 'DECISION', 'COST', 'AGENT/TOOL'],
          result.data.map((row) => [
            row.seq,
            row.at,
            row.vault_key_id,
            `${row.method} ${row.path}`,
            row.status,
            row.reason ? `${row.decision} (${row.reason})` : row.decision,
            usd(row.settled_usd),
            [row.attribution.agent, row.attribution.tool].filter(Boolean).join('/') || null,
          ]),
        ),
      );
    });

  audit
    .command('verify')
    .description('recompute every hash chain of the audit log; exits 1 if any row was altered')
    .option('--json')
    .action(async (flags: { json?: boolean }) => {
      const connectionInfo = connection();
      const response = await fetch(new URL('/api/audit/verify', connectionInfo.url), { headers: { authorization: `Bearer ${connectionInfo.adminToken ?? ''}` } });
      const result = (await response.json()) as { ok: boolean; rows: number; chains: number; brokenAtSeq?: number; brokenChain?: string; reason?: string; error?: { message: string } };
      if (result.error) throw new CliError(`${response.status}: ${result.error.message}`);
      if (flags.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      else if (result.ok) process.stdout.write(`audit log intact: ${result.rows} rows in ${result.chains} hash ${result.chains === 1 ? 'chain' : 'chains'}, every link verified\n`);
      else process.stdout.write(`audit log TAMPERED: row ${result.brokenAtSeq} (chain ${result.brokenChain}): ${result.reason}\n`);
      if (!result.ok) process.exitCode = 1;
    });
}
