import type { Command } from 'commander';
import { callApi, type CliConnection } from './api-client.ts';
import { renderTable, usd } from './table.ts';

export function registerSpendCommand(program: Command, connection: () => CliConnection): void {
  program
    .command('spend')
    .description('spend grouped by key, tree root, vendor or any metadata field')
    .option('--group-by <grouping>', 'vault_key | root | vendor | request_vendor | metadata.<field>', 'vault_key')
    .option('--day <YYYY-MM-DD>', 'one UTC day (default today)')
    .option('--from <YYYY-MM-DD>')
    .option('--to <YYYY-MM-DD>')
    .option('--json', 'machine-readable output')
    .action(async (flags: { groupBy: string; day?: string; from?: string; to?: string; json?: boolean }) => {
      const params = new URLSearchParams({ group_by: flags.groupBy });
      if (flags.day) params.set('day', flags.day);
      if (flags.from) params.set('from', flags.from);
      if (flags.to) params.set('to', flags.to);
      const result = (await callApi(connection(), 'GET', `/api/spend?${params}`)) as {
        from: string;
        to: string;
        total_usd: number;
        data: { group: string | null; usd: number; requests: number }[];
      };
      if (flags.json) return void process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      process.stdout.write(`spend ${result.from}${result.to !== result.from ? ` .. ${result.to}` : ''} by ${flags.groupBy}: total ${usd(result.total_usd)}\n`);
      process.stdout.write(renderTable([flags.groupBy.toUpperCase(), 'SPEND', 'REQUESTS'], result.data.map((row) => [row.group, usd(row.usd), row.requests])));
    });
}
