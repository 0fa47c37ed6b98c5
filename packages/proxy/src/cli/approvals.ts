import type { ApprovalJson } from '@keyleash/core';
import type { Command } from 'commander';
import { callApi, type CliConnection } from './api-client.ts';
import { renderTable, usd } from './table.ts';

/** `keyleash approvals list|approve|deny`: the calls held for a human, and the human's decision. */
export function registerApprovalCommands(program: Command, connection: () => CliConnection): void {
  const approvals = program.command('approvals').description('calls held for approval: list them, approve or deny one');

  approvals
    .command('list')
    .description('held calls, newest first (default: pending only)')
    .option('--status <status>', 'pending | approved | forwarded | denied | timed_out | abandoned | all', 'pending')
    .option('--json', 'machine-readable output')
    .action(async (flags: { status: string; json?: boolean }) => {
      const query = flags.status === 'all' ? '' : `?status=${encodeURIComponent(flags.status)}`;
      const result = (await callApi(connection(), 'GET', `/api/approvals${query}`)) as { data: ApprovalJson[] };
      if (flags.json) return void process.stdout.write(`${JSON.stringify(result.data, null, 2)}\n`);
      process.stdout.write(
        renderTable(
          ['ID', 'STATUS', 'KEY', 'CALL', 'AMOUNT', 'EXPIRES'],
          result.data.map((a) => [a.id, a.status, a.vault_key_id, `${a.method} ${a.path}`, usd(a.amount_usd), a.expires_at]),
        ),
      );
    });

  for (const verdict of ['approve', 'deny'] as const) {
    approvals
      .command(`${verdict} <id>`)
      .description(verdict === 'approve' ? 'let the held call go to the vendor' : 'refuse the held call (keyleash_approval_denied) and release its reservation')
      .option('--json', 'machine-readable output')
      .action(async (id: string, flags: { json?: boolean }) => {
        const result = (await callApi(connection(), 'POST', `/api/approvals/${encodeURIComponent(id)}/${verdict}`)) as ApprovalJson;
        process.stdout.write(flags.json ? `${JSON.stringify(result, null, 2)}\n` : `${result.id} ${result.status}: ${result.method} ${result.path} ${usd(result.amount_usd)}\n`);
      });
  }
}
