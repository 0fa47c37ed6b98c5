/**
 * One agent definition, many customers. Each customer session gets its own keyleash vault key,
 * issued when the session starts:
 *   - metadata.customer_id (and plan, session_id), inherited by anything derived from it;
 *   - a daily cap set by the customer's plan tier;
 *   - an expiry equal to the session timeout, and a revoke when the session ends.
 * The agent reads its key from the run context, and the customer id it charges comes from the
 * run context too, never from the model. At the end, one audit query per customer gives that
 * customer's spend and call history; Stripe's own records (read through keyleash) agree.
 */
import { randomUUID } from 'node:crypto';
import { Agent, run, setDefaultOpenAIKey, setTracingDisabled, setTracingExportApiKey, type Model, type RunContext } from '@openai/agents';
import { assistantMessage, functionCall } from '@openai/agents/testing';
import { stripeFor, type AuditRow, type KeyleashAdmin } from '@keyleash/client';
import { credentialsFromContext, toAgentsTool, type KeyleashAgentContext } from '@keyleash/openai-agents';
import { chargeCard, startLocalStack, type Env } from '@keyleash/example-support';
import { scriptedModel, toolOutputs, userText } from '@keyleash/example-support/scripted';

export const PLAN_DAILY_CAP_USD = { starter: 25, pro: 250, enterprise: 2500 } as const;
export type Plan = keyof typeof PLAN_DAILY_CAP_USD;
/** a session's key dies with the session, even if nobody revokes it */
export const SESSION_TIMEOUT = '30m';

export interface CustomerRequest {
  name: string;
  plan: Plan;
  /** what the customer types when the session opens */
  message: string;
}

export const DEFAULT_CUSTOMERS: CustomerRequest[] = [
  { name: 'Acme Bakery', plan: 'starter', message: 'Please add the $19 reporting add-on and the $15 extra-seat pack to my account.' },
  { name: 'Globex', plan: 'pro', message: 'Add three extra seats for $45 and the $99 analytics add-on.' },
  { name: 'Initech', plan: 'enterprise', message: 'Buy the $120 priority support plan for us.' },
];

export interface SessionContext extends KeyleashAgentContext {
  customerId: string;
  customerName: string;
  plan: Plan;
}

export interface CustomerReport {
  customerId: string;
  name: string;
  plan: Plan;
  capUsd: number;
  sessionKeyId: string;
  answer: string;
  /** summed from the audit: one query, by metadata.customer_id */
  spendUsd: number;
  /** summed from Stripe's own PaymentIntents for the customer, read through keyleash */
  stripeUsd: number;
  calls: Pick<AuditRow, 'seq' | 'at' | 'method' | 'path' | 'decision' | 'reason' | 'settled_usd' | 'vault_key_id' | 'attribution'>[];
}

export interface MultiTenantOptions {
  env?: Env;
  customers?: CustomerRequest[];
  log?: (line: string) => void;
}

export async function runMultiTenantExample(options: MultiTenantOptions = {}): Promise<{ model: string; reports: CustomerReport[] }> {
  const env = options.env ?? process.env;
  const log = options.log ?? (() => {});
  const customers = options.customers ?? DEFAULT_CUSTOMERS;
  const openaiModel = env.OPENAI_API_KEY ? (env.OPENAI_MODEL ?? 'gpt-4.1-mini') : undefined;
  if (env.OPENAI_API_KEY) {
    setDefaultOpenAIKey(env.OPENAI_API_KEY);
    setTracingExportApiKey(env.OPENAI_API_KEY);
  }
  else setTracingDisabled(true);

  const stack = await startLocalStack(env);
  try {
    log(`stack: ${stack.description}`);
    const app = `multi-tenant-${randomUUID().slice(0, 8)}`;
    const customerIds = await createCustomers(stack.admin, stack.proxyUrl, app, customers);

    // The one agent definition every session shares.
    const assistant = new Agent<SessionContext>({
      name: 'account_assistant',
      instructions: (rc: RunContext<SessionContext>) =>
        `You are the account assistant of ${rc.context.customerName} (${rc.context.plan} plan). ` +
        'Buy each add-on the customer asks for with charge_customer: one call per item, amount in cents, currency usd. ' +
        'If keyleash refuses a charge, do not retry: tell the customer which items went through and which did not, and why.',
      model: openaiModel ?? assistantScript(),
      tools: [
        toAgentsTool(chargeCard, credentialsFromContext<SessionContext>, {
          name: 'charge_customer',
          description: "Charge this session's customer's card on file now. amount is in cents.",
          inputFromContext: { customer: (rc: RunContext<SessionContext>) => rc.context.customerId },
        }),
      ],
    });

    // Every customer's session at once: concurrent runs of the same agent, each on its own key.
    const sessions = await Promise.all(
      customers.map(async (customer, i) => {
        const customerId = customerIds[i]!;
        const sessionId = `sess-${randomUUID().slice(0, 8)}`;
        const key = await stack.admin.issueKey({
          vendor: 'stripe',
          daily_usd_cap: PLAN_DAILY_CAP_USD[customer.plan],
          allowed_endpoints: ['POST /v1/payment_intents'],
          expires_in: SESSION_TIMEOUT,
          metadata: { app, customer_id: customerId, plan: customer.plan, session_id: sessionId },
        });
        log(`session ${sessionId} opened for ${customer.name} (${customerId}, ${customer.plan}): key ${key.id}, cap $${PLAN_DAILY_CAP_USD[customer.plan]}/day, expires ${key.expires_at}`);
        const context: SessionContext = {
          customerId,
          customerName: customer.name,
          plan: customer.plan,
          credentials: { role: 'account_assistant', vaultKey: key.vault_key, proxyUrl: stack.proxyUrl, runId: sessionId },
        };
        try {
          const result = await run(assistant, customer.message, { context, maxTurns: 6 });
          return { customer, customerId, keyId: key.id, answer: String(result.finalOutput ?? '') };
        } finally {
          await stack.admin.revoke(key.id); // the session is over
        }
      }),
    );

    const reader = await stack.admin.issueKey({ vendor: 'stripe', daily_usd_cap: null, allowed_endpoints: ['GET /v1/payment_intents'], expires_in: '10m', metadata: { app, agent: 'reporting' } });
    const stripe = stripeFor({ vaultKey: reader.vault_key, proxyUrl: stack.proxyUrl, attribution: { agent: 'reporting' } });
    const reports: CustomerReport[] = [];
    for (const session of sessions) {
      const rows = (await stack.admin.audit({ metadata: { customer_id: session.customerId } })).sort((a, b) => a.at.localeCompare(b.at) || a.seq - b.seq);
      const intents = await stripe.paymentIntents.list({ customer: session.customerId, limit: 100 });
      reports.push({
        customerId: session.customerId,
        name: session.customer.name,
        plan: session.customer.plan,
        capUsd: PLAN_DAILY_CAP_USD[session.customer.plan],
        sessionKeyId: session.keyId,
        answer: session.answer,
        spendUsd: sumUsd(rows.filter((r) => r.decision === 'allowed').map((r) => r.settled_usd)),
        stripeUsd: sumUsd(intents.data.filter((pi) => pi.status === 'succeeded').map((pi) => pi.amount / 100)),
        calls: rows.map(({ seq, at, method, path, decision, reason, settled_usd, vault_key_id, attribution }) => ({ seq, at, method, path, decision, reason, settled_usd, vault_key_id, attribution })),
      });
    }
    await stack.admin.revoke(reader.id);

    for (const report of reports) {
      log('');
      log(`${report.name} (${report.customerId}, ${report.plan}, cap $${report.capUsd}/day): spent $${report.spendUsd.toFixed(2)} per the audit, $${report.stripeUsd.toFixed(2)} per Stripe`);
      log(`  assistant: ${report.answer.replace(/\n/g, ' / ')}`);
      for (const call of report.calls) {
        log(`  #${call.seq} ${call.at} ${call.attribution.tool ?? ''} ${call.method} ${call.path.replace(/^\/api\.stripe\.com/, '')} ${call.decision}${call.reason ? ` (${call.reason})` : ''} $${call.settled_usd.toFixed(2)}`);
      }
    }
    return { model: openaiModel ?? 'scripted', reports };
  } finally {
    await stack.close();
  }
}

function sumUsd(amounts: number[]): number {
  return Math.round(amounts.reduce((sum, usd) => sum + usd, 0) * 100) / 100;
}

async function createCustomers(admin: KeyleashAdmin, proxyUrl: string, app: string, customers: CustomerRequest[]): Promise<string[]> {
  const setup = await admin.issueKey({ vendor: 'stripe', daily_usd_cap: null, allowed_endpoints: ['POST /v1/customers'], expires_in: '10m', metadata: { app, agent: 'setup' } });
  const stripe = stripeFor({ vaultKey: setup.vault_key, proxyUrl, attribution: { agent: 'setup' } });
  const ids: string[] = [];
  for (const customer of customers) ids.push((await stripe.customers.create({ name: customer.name })).id);
  await admin.revoke(setup.id);
  return ids;
}

/**
 * The offline stand-in for the LLM, shared by every session like the real model would be: it buys
 * every "$N" item in the customer's message at once (parallel tool calls), then reports.
 */
function assistantScript(): Model {
  let calls = 0;
  return scriptedModel((request) => {
    const shown = toolOutputs(request).filter((o) => o.name === 'charge_customer');
    const items = [...userText(request).matchAll(/\$(\d+)/g)].map((m) => Number(m[1]));
    if (shown.length === 0) {
      return items.map((usd) => functionCall('charge_customer', { amount: usd * 100, currency: 'usd', description: `add-on $${usd}` }, { callId: `call_charge_${++calls}` }));
    }
    const lines = shown.map((o, i) => `$${items[i]}: ${o.text.startsWith('refused by keyleash') ? `not charged (${/\((keyleash_[a-z_]+)\)/.exec(o.text)?.[1]})` : 'charged'}`);
    return [assistantMessage(lines.join('\n'))];
  }, 256);
}
