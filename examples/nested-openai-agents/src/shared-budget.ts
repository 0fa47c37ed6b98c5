/**
 * One budget for an agent's thinking and its actions. The billing agent's key covers Stripe AND
 * OpenAI ($5 a day); it delegates installment collection to a sub-agent whose child key ($2,
 * 30 minutes) pays for the sub-agent's model calls and its charges alike:
 *
 *   billing (gpt-4o-mini, key: stripe+openai, $5)
 *     └── collect_installments: sub-agent (o1, child key: stripe+openai, $2)
 *           model call ~$0.18 · charge $0.50 · model call · charge $0.50 · model call · charge $0.50 ✗
 *
 * The third charge is refused before Stripe sees it: $1.50 of charges would fit a $2 cap, but
 * the sub-agent's own model calls spent the rest. Every token and every cent counts against the
 * billing key too. Runs offline: a local fake Stripe and the scripted OpenAI-compatible server,
 * both behind a real keyleash (the model calls go through keyleash like any vendor call).
 */
import { randomBytes } from 'node:crypto';
import { Agent, run, setTracingDisabled } from '@openai/agents';
import { stripeFor, type AgentCredentials, type AuditRow } from '@keyleash/client';
import { keyleashModel, subAgentTool, toAgentsTool } from '@keyleash/openai-agents';
import { chargeCard, startLocalStack } from '@keyleash/example-support';
import { startFakeOpenAI, type ModelRequest } from '../../../test/upstreams/openai/server.ts';

const INSTALLMENT_CENTS = 50;
/** what each of the sub-agent's model calls reports using (o1: $15 / $60 per 1M tokens) */
const SUB_AGENT_USAGE = { input: 1_200, output: 2_700 };

export interface SharedBudgetResult {
  finalOutput: string;
  /** the sub-agent's tool results, as it read them */
  chargeResults: string[];
  billingKeyId: string;
  childKeyId: string;
  audit: AuditRow[];
  /** today's spend per key (the billing key's includes its child's) and per vendor */
  spendUsd: { billing: number; child: number; childByVendor: Record<string, number> };
}

/** The scripted turns: the sub-agent charges until keyleash refuses, then reports. */
function subAgentTurn(customer: string) {
  return (request: ModelRequest) => {
    const results = request.toolResults.map((r) => r.output);
    if (results.length < 3 && !results.some((r) => r.includes('keyleash_'))) {
      return { toolCalls: [{ name: 'charge_card', arguments: { customer, amount: INSTALLMENT_CENTS, currency: 'usd', description: `installment ${results.length + 1}` } }], usage: SUB_AGENT_USAGE };
    }
    const collected = results.filter((r) => !r.includes('keyleash_')).length;
    return { text: `Collected ${collected} of 3 installments; the next one was refused by keyleash: the sub-agent's budget is spent.`, usage: SUB_AGENT_USAGE };
  };
}

export async function runSharedBudgetExample(options: { log?: (line: string) => void } = {}): Promise<SharedBudgetResult> {
  const log = options.log ?? (() => {});
  setTracingDisabled(true);
  const openaiSecret = `sk-fake-${randomBytes(12).toString('hex')}`;
  const model = await startFakeOpenAI({ apiKey: openaiSecret });
  // offline whatever the environment says: a local fake Stripe, the scripted model server
  const stack = await startLocalStack({}, { env: { OPENAI_API_KEY: openaiSecret }, upstreams: { 'api.openai.com': `http://127.0.0.1:${model.port}` } });
  const { admin, proxyUrl } = stack;
  try {
    const setup = await admin.issueKey({ vendor: 'stripe', daily_usd_cap: 1, allowed_endpoints: ['POST /v1/customers'], expires_in: '10m' });
    const customer = (await stripeFor({ vaultKey: setup.vault_key, proxyUrl }).customers.create({ name: 'Ada Lovelace' })).id;

    const billingKey = await admin.issueKey({
      vendors: ['stripe', 'openai'],
      daily_usd_cap: 5,
      allowed_endpoints: ['stripe:POST /v1/payment_intents', 'openai:POST /v1/responses'],
      expires_in: '1h',
      metadata: { app: 'shared-budget', role: 'billing' },
    });
    const billing: AgentCredentials = { role: 'billing', vaultKey: billingKey.vault_key, proxyUrl };
    log(`billing key ${billingKey.id}: stripe + openai, one $5/day cap`);

    model.push([{ toolCalls: [{ name: 'collect_installments', arguments: { input: `Collect 3 installments of $0.50 from ${customer}` } }] }, { text: 'The installments sub-agent has reported back.' }], 'gpt-4o-mini');
    model.push(Array.from({ length: 6 }, () => subAgentTurn(customer)), 'o1');

    let childKeyId = '';
    const chargeResults: string[] = [];
    const agent = new Agent({
      name: 'billing',
      instructions: 'Delegate installment collection to collect_installments.',
      model: keyleashModel(billing, 'gpt-4o-mini'),
      tools: [
        subAgentTool(
          // built per invocation from the child key: its model AND its tools spend from the child's $2
          (child) =>
            new Agent({
              name: 'installments',
              instructions: 'Charge each installment with charge_card. If keyleash refuses a charge, stop and report.',
              model: keyleashModel(child, 'o1'),
              tools: [toAgentsTool(chargeCard, child)],
            }),
          {
            name: 'collect_installments',
            description: 'Collect overdue installments under a $2 child key that pays for the sub-agent model and its charges.',
            role: 'installments',
            childPolicy: { daily_usd_cap: 2, expires_in: '30m' },
            onChildIssued: (event) => {
              childKeyId = event.keyId;
              log(`  child key ${event.keyId} issued: stripe + openai, $2 for tokens and charges together`);
            },
            onChildRevoked: (event) => log(`  child key ${event.keyId} revoked`),
          },
          billing,
        ),
      ],
    });
    const result = await run(agent, 'Please collect the three overdue installments.', { maxTurns: 6 });
    for (const request of model.requestsFor('o1')) chargeResults.push(...request.newToolResults.map((r) => r.output));
    const finalOutput = String(result.finalOutput ?? '');

    const audit = (await admin.audit({ metadata: { app: 'shared-budget' } })).sort((a, b) => a.seq - b.seq);
    const childRows = audit.filter((row) => row.vault_key_id === childKeyId && row.decision === 'allowed');
    const childByVendor: Record<string, number> = {};
    for (const row of childRows) childByVendor[row.vendor] = (childByVendor[row.vendor] ?? 0) + row.settled_usd;
    const spendUsd = {
      billing: (await admin.getKey(billingKey.id)).spend?.today_usd ?? 0,
      child: (await admin.getKey(childKeyId)).spend?.today_usd ?? 0,
      childByVendor,
    };
    log('');
    for (const row of audit) {
      log(`  #${row.seq} ${(row.attribution.agent ?? '?').padEnd(13)} ${row.vendor.padEnd(7)} ${row.method} ${row.path.padEnd(22)} ${row.decision}${row.reason ? ` (${row.reason})` : ''} $${row.settled_usd.toFixed(6)}`);
    }
    log(`sub-agent spent $${spendUsd.child.toFixed(6)} of its $2 (${Object.entries(childByVendor).map(([v, usd]) => `${v} $${usd.toFixed(6)}`).join(', ')}); billing key total $${spendUsd.billing.toFixed(6)} of $5`);
    log(`billing: ${finalOutput}`);
    return { finalOutput, chargeResults, billingKeyId: billingKey.id, childKeyId, audit, spendUsd };
  } finally {
    await stack.close();
    await model.close();
  }
}
