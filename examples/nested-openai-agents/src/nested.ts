/**
 * A support desk on the OpenAI Agents SDK, every agent on its own keyleash vault key:
 *
 *   triage ──handoff──> billing ──handoff──> refunds
 *                          └── collect_installments: a sub-agent run under a child key of
 *                              billing's key ($200 cap, 30 minutes), revoked when it answers
 *
 * The customer asks for three overdue installments ($60, $75, $90) and a refund of a duplicate
 * order. The sub-agent's child key stops it at $200: the $90 charge is refused before Stripe sees
 * it, and the sub-agent reads that refusal instead of crashing.
 */
import { randomUUID } from 'node:crypto';
import { Agent, run, setDefaultOpenAIKey, setTracingDisabled, setTracingExportApiKey, type Model } from '@openai/agents';
import { assistantMessage, functionCall } from '@openai/agents/testing';
import { createRefund, retrieveCustomer, stripeFor, type AgentCredentials, type AuditRow, type KeyleashAdmin } from '@keyleash/client';
import { credentialsFromContext, subAgentTool, toAgentsTool, type KeyleashAgentContext } from '@keyleash/openai-agents';
import { chargeCard, startLocalStack, type Env } from '@keyleash/example-support';
import { scriptedModel, toolOutputs } from '@keyleash/example-support/scripted';

const APP = 'nested-openai-agents';
const INSTALLMENTS_CHILD_POLICY = { daily_usd_cap: 200, expires_in: '30m', allowed_endpoints: ['POST /v1/payment_intents'] };

export interface NestedExampleOptions {
  env?: Env;
  log?: (line: string) => void;
}

export interface NestedExampleResult {
  model: string;
  finalOutput: string;
  lastAgent: string;
  keys: Record<'triage' | 'billing' | 'refunds', string>;
  childKeys: { id: string; status: string; daily_usd_cap: number | null; lifetime_minutes: number; spend_usd: number }[];
  /** every proxied call of this run, oldest first */
  audit: AuditRow[];
  spendUsd: Record<'triage' | 'billing' | 'refunds', number>;
}

export async function runNestedExample(options: NestedExampleOptions = {}): Promise<NestedExampleResult> {
  const env = options.env ?? process.env;
  const log = options.log ?? (() => {});
  const openai = env.OPENAI_API_KEY;
  if (openai) {
    setDefaultOpenAIKey(openai);
    setTracingExportApiKey(openai);
  }
  else setTracingDisabled(true); // offline: nothing to export traces to

  const stack = await startLocalStack(env);
  try {
    log(`stack: ${stack.description}`);
    const runId = `run-${randomUUID().slice(0, 8)}`;
    const { customer, duplicateOrder, setupKeyId } = await setUpCustomer(stack.admin, stack.proxyUrl, runId);
    log(`customer ${customer}, duplicate order ${duplicateOrder}`);

    const issue = async (agent: string, policy: { daily_usd_cap: number | null; allowed_endpoints: string[] }): Promise<AgentCredentials & { id: string }> => {
      // children inherit app, agent and run_id, and add their own role
      const key = await stack.admin.issueKey({ vendor: 'stripe', expires_in: '8h', ...policy, metadata: { app: APP, agent, run_id: runId } });
      return { id: key.id, role: agent, vaultKey: key.vault_key, proxyUrl: stack.proxyUrl, runId };
    };
    const keys = {
      triage: await issue('triage', { daily_usd_cap: null, allowed_endpoints: ['GET /v1/customers/*'] }),
      billing: await issue('billing', { daily_usd_cap: 500, allowed_endpoints: ['POST /v1/payment_intents', 'GET /v1/customers/*'] }),
      refunds: await issue('refunds', { daily_usd_cap: 100, allowed_endpoints: ['POST /v1/refunds'] }),
    };

    const models = chooseModels(openai ? (env.OPENAI_MODEL ?? 'gpt-4.1-mini') : undefined, customer, duplicateOrder);

    const installments = new Agent<KeyleashAgentContext>({
      name: 'installments',
      instructions:
        'You collect overdue installments. Charge each installment separately with charge_card (amounts in cents, USD). ' +
        'If keyleash refuses a charge, do not retry it: report which installments were collected and which were refused, and why.',
      model: models.installments,
      tools: [toAgentsTool(chargeCard, credentialsFromContext)],
    });
    const refunds = new Agent({
      name: 'refunds',
      instructions: 'You refund orders with create_refund (by PaymentIntent id), then give the customer one short summary of everything done in this conversation.',
      model: models.refunds,
      tools: [toAgentsTool(createRefund, keys.refunds)],
    });
    const billing = new Agent({
      name: 'billing',
      instructions:
        'You handle charges. Delegate overdue installments to collect_installments in one self-contained task (customer id, each amount in cents). ' +
        'If the customer also wants a refund, transfer to refunds afterwards.',
      model: models.billing,
      tools: [
        toAgentsTool(chargeCard, keys.billing),
        subAgentTool(
          installments,
          {
            name: 'collect_installments',
            description: "Collect a customer's overdue installments. A sub-agent does it under a child key bounded to $200 and 30 minutes.",
            role: 'installments',
            childPolicy: INSTALLMENTS_CHILD_POLICY,
            onChildIssued: (e) => log(`  child key ${e.keyId} issued for ${e.tool} (call ${e.toolCallId})`),
            onChildRevoked: (e) => log(`  child key ${e.keyId} revoked`),
          },
          keys.billing,
        ),
      ],
      handoffs: [refunds],
    });
    const triage = new Agent({
      name: 'triage',
      instructions: 'Look the customer up with retrieve_customer, then transfer to billing for charges and installments (billing passes refunds on), or to refunds for a refund alone.',
      model: models.triage,
      tools: [toAgentsTool(retrieveCustomer, keys.triage)],
      handoffs: [billing, refunds],
    });

    const request = `Hi, I'm customer ${customer}. Please collect my three overdue installments of $60, $75 and $90, and refund my duplicate order ${duplicateOrder}.`;
    log(`customer: ${request}`);
    const result = await run(triage, request, { maxTurns: 12 });
    const finalOutput = String(result.finalOutput ?? '');
    for (const item of result.newItems) {
      if (item.type !== 'tool_call_output_item') continue;
      const raw = item.rawItem as { name?: string; output?: string | { text?: string } };
      const text = typeof raw.output === 'string' ? raw.output : (raw.output?.text ?? '');
      log(`  ${item.agent.name} <- ${raw.name}: ${text.replace(/\n/g, ' / ')}`);
    }
    log(`${result.lastAgent?.name ?? '?'}: ${finalOutput}`);

    const audit = (await stack.admin.audit({ metadata: { run_id: runId } })).sort((a, b) => a.seq - b.seq);
    const tree = await stack.admin.tree(keys.billing.id);
    const childKeys = tree
      .filter((k) => k.parent_id === keys.billing.id)
      .map((k) => ({
        id: k.id,
        status: k.status,
        daily_usd_cap: k.policy.daily_usd_cap,
        lifetime_minutes: (Date.parse(k.expires_at) - Date.parse(k.created_at)) / 60_000,
        spend_usd: k.spend?.today_usd ?? 0,
      }));
    const spendUsd = {
      triage: (await stack.admin.getKey(keys.triage.id)).spend?.today_usd ?? 0,
      billing: (await stack.admin.getKey(keys.billing.id)).spend?.today_usd ?? 0,
      refunds: (await stack.admin.getKey(keys.refunds.id)).spend?.today_usd ?? 0,
    };

    log('');
    log('audit (one query: metadata.run_id):');
    const rootKeys = new Set([setupKeyId, keys.triage.id, keys.billing.id, keys.refunds.id]);
    for (const row of audit) {
      const key = `${rootKeys.has(row.vault_key_id ?? '') ? 'key' : 'child key'} ${row.vault_key_id}`;
      log(
        `  #${row.seq} ${(row.attribution.agent ?? '?').padEnd(12)} ${key.padEnd(26)} ${(row.attribution.tool ?? '').padEnd(20)} ${row.method} ${row.path.replace(/^\/api\.stripe\.com/, '')} ` +
          `${row.decision}${row.reason ? ` (${row.reason})` : ''} $${row.settled_usd.toFixed(2)}`,
      );
    }
    log('');
    log('child keys of billing:');
    for (const child of childKeys) log(`  ${child.id} ${child.status}, cap $${child.daily_usd_cap}, lifetime ${child.lifetime_minutes} min, spent $${child.spend_usd.toFixed(2)}`);
    log(`spend today: triage $${spendUsd.triage.toFixed(2)}, billing $${spendUsd.billing.toFixed(2)} (its sub-agents included), refunds $${spendUsd.refunds.toFixed(2)}`);

    return {
      model: openai ? (env.OPENAI_MODEL ?? 'gpt-4.1-mini') : 'scripted',
      finalOutput,
      lastAgent: result.lastAgent?.name ?? '',
      keys: { triage: keys.triage.id, billing: keys.billing.id, refunds: keys.refunds.id },
      childKeys,
      audit,
      spendUsd,
    };
  } finally {
    await stack.close();
  }
}

/** A customer with a duplicate order to refund, created through keyleash with a short-lived set-up key. */
async function setUpCustomer(admin: KeyleashAdmin, proxyUrl: string, runId: string) {
  const setup = await admin.issueKey({
    vendor: 'stripe',
    daily_usd_cap: 30,
    allowed_endpoints: ['POST /v1/customers', 'POST /v1/payment_intents'],
    expires_in: '30m',
    metadata: { app: APP, agent: 'setup', run_id: runId },
  });
  const stripe = stripeFor({ vaultKey: setup.vault_key, proxyUrl, attribution: { agent: 'setup', runId } });
  const customer = await stripe.customers.create({ name: 'Ada Lovelace', email: 'ada@example.com' });
  const order = await stripe.paymentIntents.create({
    customer: customer.id,
    amount: 2500,
    currency: 'usd',
    payment_method: 'pm_card_visa',
    automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
    confirm: true,
    description: 'order #1001 (charged twice by mistake)',
  });
  await admin.revoke(setup.id);
  return { customer: customer.id, duplicateOrder: order.id, setupKeyId: setup.id };
}

/** The real model by name, or the script the offline run follows. */
function chooseModels(openaiModel: string | undefined, customer: string, duplicateOrder: string): Record<'triage' | 'billing' | 'installments' | 'refunds', string | Model> {
  if (openaiModel) return { triage: openaiModel, billing: openaiModel, installments: openaiModel, refunds: openaiModel };
  let callIds = 0;
  const callId = (name: string) => `call_${name}_${++callIds}`;
  const has = (request: Parameters<Parameters<typeof scriptedModel>[0]>[0], tool: string) => toolOutputs(request).some((o) => o.name === tool);
  return {
    triage: scriptedModel((request) =>
      has(request, 'retrieve_customer') ? [functionCall('transfer_to_billing', {}, { callId: callId('handoff') })] : [functionCall('retrieve_customer', { customer }, { callId: callId('lookup') })],
    ),
    billing: scriptedModel((request) =>
      has(request, 'collect_installments')
        ? [functionCall('transfer_to_refunds', {}, { callId: callId('handoff') })]
        : [
            functionCall(
              'collect_installments',
              { input: `Customer ${customer} has three overdue installments: 6000, 7500 and 9000 cents (USD). Charge each one separately.` },
              { callId: callId('delegate') },
            ),
          ],
    ),
    installments: scriptedModel((request) => {
      const done = toolOutputs(request).filter((o) => o.name === 'charge_card');
      const amounts = [6000, 7500, 9000];
      if (done.length < amounts.length) {
        return [functionCall('charge_card', { customer, amount: amounts[done.length]!, currency: 'usd', description: `installment ${done.length + 1} of 3` }, { callId: callId('charge') })];
      }
      const lines = done.map((o, i) => `installment ${i + 1} ($${amounts[i]! / 100}): ${o.text.startsWith('refused by keyleash') ? `NOT collected, ${o.text}` : 'collected'}`);
      return [assistantMessage(lines.join('\n'))];
    }),
    refunds: scriptedModel((request) => {
      if (!has(request, 'create_refund')) return [functionCall('create_refund', { payment_intent: duplicateOrder }, { callId: callId('refund') })];
      const collected = toolOutputs(request).find((o) => o.name === 'collect_installments')?.text ?? '';
      const refusedCount = (collected.match(/NOT collected/g) ?? []).length;
      return [
        assistantMessage(
          `Done. ${3 - refusedCount} of your 3 installments were collected` +
            (refusedCount ? `; ${refusedCount} was stopped by the spend limit on automated collections, so a person will follow up` : '') +
            `. Your duplicate order ${duplicateOrder} has been refunded.`,
        ),
      ];
    }),
  };
}
