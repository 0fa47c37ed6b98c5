import type { Command } from 'commander';
import { callApi, type CliConnection } from './api-client.ts';
import { addPolicyOptions, policyBody, type PolicyFlags } from './policy-flags.ts';
import { renderTable, usd } from './table.ts';

interface KeyJson {
  id: string;
  parent_id: string | null;
  root_id: string;
  depth: number;
  status: string;
  expires_at: string;
  vault_key?: string;
  policy: { vendor: string; vendors?: string[]; daily_usd_cap: number | null; total_usd_cap: number | null; allowed_endpoints: string[]; metadata: Record<string, string>; rules?: unknown[] };
  spend?: { today_usd: number; total_usd: number };
}

function keyRows(keys: KeyJson[]) {
  return renderTable(
    ['ID', 'PARENT', 'VENDOR', 'STATUS', 'TODAY', 'DAILY CAP', 'EXPIRES', 'METADATA'],
    keys.map((k) => [
      `${'  '.repeat(k.depth)}${k.id}`,
      k.parent_id,
      (k.policy.vendors ?? [k.policy.vendor]).join('+'),
      k.status,
      usd(k.spend?.today_usd),
      usd(k.policy.daily_usd_cap),
      k.expires_at,
      Object.entries(k.policy.metadata).map(([f, v]) => `${f}=${v}`).join(' '),
    ]),
  );
}

function printIssued(key: KeyJson, json: boolean): void {
  if (json) return void process.stdout.write(`${JSON.stringify(key, null, 2)}\n`);
  process.stdout.write(
    `Created ${(key.policy.vendors ?? [key.policy.vendor]).join('+')} vault key ${key.id}${key.parent_id ? ` (child of ${key.parent_id})` : ''}, expires ${key.expires_at}.\n` +
      `Shown only once, store it now:\n\n  ${key.vault_key}\n\n`,
  );
}

export function registerKeyCommands(program: Command, connection: () => CliConnection): void {
  const keys = program.command('keys').description('issue, derive, list, show and revoke vault keys');
  const json = (cmd: Command) => cmd.option('--json', 'machine-readable output');

  json(addPolicyOptions(keys.command('create').description('issue a root vault key (admin)').requiredOption('--vendor <vendor>', 'stripe, twilio or openai; several with commas (stripe,openai) for one budget across them'))).action(
    async (flags: PolicyFlags & { json?: boolean }) => {
      printIssued((await callApi(connection(), 'POST', '/api/vault_keys', policyBody(flags))) as KeyJson, Boolean(flags.json));
    },
  );

  // `keys derive --parent vk_… [policy flags]`: POST /api/vault_keys with parent_vault_key and no
  // admin token. Every flag left out is inherited from the parent; what is given must be a subset
  // of the parent (deriveChildPolicy in @keyleash/core has the rules), else the server answers 403
  // naming every problem and this exits 1 printing them. The new key is printed once.
  json(addPolicyOptions(keys.command('derive').description('derive a child key from a vault key you hold (no admin token needed)').requiredOption('--parent <vault key>', 'the parent vault key (vk_…)'))).action(
    async (flags: PolicyFlags & { parent: string; json?: boolean }) => {
      const body = policyBody(flags, { parent_vault_key: flags.parent });
      printIssued((await callApi(connection(), 'POST', '/api/vault_keys', body)) as KeyJson, Boolean(flags.json));
    },
  );

  json(keys.command('list').description('list keys').option('--metadata <field=value>', 'filter (repeatable)', (v: string, p: string[] = []) => [...p, v]).option('--vendor <vendor>')).action(
    async (flags: { metadata?: string[]; vendor?: string; json?: boolean }) => {
      const params = new URLSearchParams();
      for (const pair of flags.metadata ?? []) {
        const at = pair.indexOf('=');
        params.append(`metadata.${pair.slice(0, at)}`, pair.slice(at + 1));
      }
      if (flags.vendor) params.set('vendor', flags.vendor);
      const result = (await callApi(connection(), 'GET', `/api/vault_keys?${params}`)) as { data: KeyJson[] };
      process.stdout.write(flags.json ? `${JSON.stringify(result.data, null, 2)}\n` : keyRows(result.data));
    },
  );

  json(keys.command('show <id>').description("a key's policy and today's spend")).action(async (id: string, flags: { json?: boolean }) => {
    const key = (await callApi(connection(), 'GET', `/api/vault_keys/${encodeURIComponent(id)}`)) as KeyJson;
    const rules = (key.policy.rules ?? []).map((rule, i) => `rules[${i}]: ${JSON.stringify(rule)}\n`).join('');
    process.stdout.write(flags.json ? `${JSON.stringify(key, null, 2)}\n` : `${keyRows([key])}\nallowed: ${key.policy.allowed_endpoints.join(', ')}\n${rules}`);
  });

  json(keys.command('tree <id>').description('a key and all its descendants with their spend today')).action(async (id: string, flags: { json?: boolean }) => {
    const tree = (await callApi(connection(), 'GET', `/api/vault_keys/${encodeURIComponent(id)}/tree`)) as { data: KeyJson[] };
    process.stdout.write(flags.json ? `${JSON.stringify(tree.data, null, 2)}\n` : keyRows(tree.data));
  });

  json(
    keys
      .command('revoke [id]')
      .description('revoke a key and all its descendants (admin), or --self with a vault key to revoke that key')
      .option('--self <vault key>', 'revoke this vault key (and its descendants) using the key itself'),
  ).action(async (id: string | undefined, flags: { self?: string; json?: boolean }) => {
    const result = flags.self
      ? ((await callApi(connection(), 'DELETE', '/api/vault_keys/self', undefined, flags.self)) as { id: string; revoked_ids: string[] })
      : ((await callApi(connection(), 'POST', `/api/vault_keys/${encodeURIComponent(id ?? '')}/revoke`)) as { id: string; revoked_ids: string[] });
    process.stdout.write(flags.json ? `${JSON.stringify(result, null, 2)}\n` : `Revoked ${result.revoked_ids.length} key(s): ${result.revoked_ids.join(', ') || '(already revoked)'}\n`);
  });
}
