/**
 * Group chat with keyleash and LangChain.js: a supervisor routes between a billing agent and a
 * refund agent, each on its own vault key; the billing agent spawns a fees sub-agent under a child
 * key. At the end: who spent what, from keyleash's audit log.
 *
 *   npx -y pnpm@10.34.9 --filter @keyleash/example-group-chat-langchain start
 *
 * Offline by default. OPENAI_API_KEY (+ OPENAI_MODEL, default gpt-4o-mini) switches to a real
 * model; STRIPE_SECRET_KEY (test mode) to real Stripe; KEYLEASH_EXAMPLE_OFFLINE=1 forces offline.
 */
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { KeyleashAdmin, type AgentCredentials, type AuditRow } from '@keyleash/client';
import { HumanMessage, type BaseMessage } from '@langchain/core/messages';
import { buildGroupChat } from './agents.ts';
import { MODEL_NAMES, offlineScript, REQUEST } from './offline-script.ts';
import { startServices, type Services } from './services.ts';

export interface RunOptions {
  /** run everything locally whatever the environment says (default: env KEYLEASH_EXAMPLE_OFFLINE=1, else decided by the keys present) */
  offline?: boolean;
  /** where the report goes (default console.log) */
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

/** spend of one agent under one key role, from the audit rows */
export interface SpendLine {
  /** the key's metadata.role (a child key inherits its parent's) */
  role: string;
  /** the agent that made the calls (attribution) */
  agent: string;
  keyIds: string[];
  calls: number;
  refused: number;
  usd: number;
}

export interface GroupChatResult {
  mode: Services['mode'];
  runId: string;
  answer: string;
  transcript: string[];
  keys: { billing: string; refunds: string; feesChildren: string[] };
  /** status of each fees child key after the run */
  childStatus: Record<string, string>;
  audit: AuditRow[];
  spend: SpendLine[];
}

function describeMessage(message: BaseMessage): string {
  const who = message.name ?? message.type;
  const calls = 'tool_calls' in message && Array.isArray(message.tool_calls) ? message.tool_calls : [];
  const text = message.text.replace(/\s+/g, ' ').trim();
  const parts = [text, ...calls.map((c: { name: string; args: unknown }) => `→ ${c.name}(${JSON.stringify(c.args)})`)].filter(Boolean);
  return `${who}: ${parts.join(' ')}`;
}

export function spendByAgent(rows: AuditRow[]): SpendLine[] {
  const lines = new Map<string, SpendLine>();
  for (const row of rows) {
    const role = row.metadata.role ?? '(none)';
    const agent = row.attribution.agent ?? '(unattributed)';
    const line = lines.get(`${role}\u0000${agent}`) ?? { role, agent, keyIds: [], calls: 0, refused: 0, usd: 0 };
    if (row.vault_key_id && !line.keyIds.includes(row.vault_key_id)) line.keyIds.push(row.vault_key_id);
    line.calls += 1;
    if (row.decision === 'refused') line.refused += 1;
    line.usd = Math.round((line.usd + row.settled_usd) * 1e6) / 1e6;
    lines.set(`${role}\u0000${agent}`, line);
  }
  return [...lines.values()];
}

const usd = (value: number) => `$${value.toFixed(2)}`;
const pad = (text: string, width: number) => text.padEnd(width);

export async function main(options: RunOptions = {}): Promise<GroupChatResult> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => console.log(line));
  const services = await startServices({ offline: options.offline ?? env.KEYLEASH_EXAMPLE_OFFLINE === '1', script: offlineScript(), env });
  try {
    log(`model: ${services.mode.model} · Stripe: ${services.mode.stripe} · keyleash: ${services.mode.keyleash} at ${services.proxyUrl}`);
    const admin = new KeyleashAdmin({ proxyUrl: services.proxyUrl, adminToken: services.adminToken });
    const runId = `group-chat-${randomBytes(4).toString('hex')}`;

    // One key per agent role, each with its own cap and endpoints.
    const billingKey = await admin.issueKey({
      vendor: 'stripe',
      daily_usd_cap: 100,
      allowed_endpoints: ['POST /v1/payment_intents'],
      expires_in: '1h',
      metadata: { role: 'billing', run: runId },
    });
    const refundsKey = await admin.issueKey({
      vendor: 'stripe',
      daily_usd_cap: 25,
      allowed_endpoints: ['GET /v1/payment_intents/*', 'POST /v1/refunds'],
      expires_in: '1h',
      metadata: { role: 'refunds', run: runId },
    });
    const credentials: Record<'billing' | 'refunds', AgentCredentials> = {
      billing: { role: 'billing', vaultKey: billingKey.vault_key, proxyUrl: services.proxyUrl, runId },
      refunds: { role: 'refunds', vaultKey: refundsKey.vault_key, proxyUrl: services.proxyUrl, runId },
    };
    log(`billing key ${billingKey.id} (cap ${usd(100)}/day) · refunds key ${refundsKey.id} (cap ${usd(25)}/day) · run ${runId}`);

    const feesChildren: string[] = [];
    const chat = buildGroupChat(
      {
        supervisor: services.modelFor(MODEL_NAMES.supervisor),
        billing: services.modelFor(MODEL_NAMES.billing),
        fees: services.modelFor(MODEL_NAMES.fees),
        refunds: services.modelFor(MODEL_NAMES.refunds),
      },
      credentials,
      { onChildKey: (id) => feesChildren.push(id) },
    );

    log('');
    log(`user: ${REQUEST}`);
    const out = await chat.invoke({ messages: [new HumanMessage(REQUEST)] }, { recursionLimit: 60 });
    const transcript = out.messages.slice(1).map(describeMessage);
    for (const line of transcript) log(line);
    const answer = out.messages.at(-1)?.text ?? '';

    const audit = (await admin.audit({ metadata: { run: runId } })).sort((a, b) => a.seq - b.seq);
    const spend = spendByAgent(audit);
    const childStatus: Record<string, string> = {};
    for (const id of feesChildren) childStatus[id] = (await admin.getKey(id)).status;

    log('');
    log('Audit log (every proxied call, attributed):');
    for (const row of audit) {
      const what = `${row.method} ${row.path.replace(/^\/api\.stripe\.com/, '').replace(/(pi_[A-Za-z0-9]{6})[A-Za-z0-9]+/, '$1…')}`;
      log(
        `  #${row.seq} ${pad(row.attribution.agent ?? '?', 8)} ${pad(row.attribution.tool ?? '?', 22)} ${pad(row.attribution.tool_call_id ?? '', 24)} ${pad(what, 36)} ${pad(row.decision, 8)} ${usd(row.settled_usd).padStart(7)}` +
          (row.reason ? `  ${row.reason.slice(0, 60)}` : ''),
      );
    }
    log('');
    log('Who spent what:');
    log(`  ${pad('key role', 10)}${pad('agent', 10)}${pad('calls', 7)}${pad('refused', 9)}spent`);
    for (const line of spend) log(`  ${pad(line.role, 10)}${pad(line.agent, 10)}${pad(String(line.calls), 7)}${pad(String(line.refused), 9)}${usd(line.usd)}`);
    const billingTotal = (await admin.getKey(billingKey.id)).spend?.today_usd ?? 0;
    log(`  billing key total, its fees sub-agent included: ${usd(billingTotal)} of ${usd(100)}`);
    for (const [id, status] of Object.entries(childStatus)) log(`  fees child key ${id}: ${status}`);

    return { mode: services.mode, runId, answer, transcript, keys: { billing: billingKey.id, refunds: refundsKey.id, feesChildren }, childStatus, audit, spend };
  } finally {
    await services.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
