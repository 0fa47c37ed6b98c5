/**
 * What a developer writes against the installed packages (type-checked by installable.test.ts in
 * a fresh directory, strict, module nodenext): the admin client, vault-key-bound vendor clients,
 * one neutral tool, and both adapters, tools and sub-agents under child keys.
 */
import { Agent, type FunctionTool } from '@openai/agents';
import type { DynamicStructuredTool } from '@langchain/core/tools';
import {
  KeyleashAdmin,
  createPaymentIntent,
  defineTool,
  stripeFor,
  twilioFor,
  type AgentCredentials,
  type IssuedVaultKey,
  type SpendReport,
} from '@keyleash/client';
import { subAgentTool as langChainSubAgent, toLangChainTools } from '@keyleash/langchain';
import { credentialsFromContext, subAgentTool as agentsSubAgent, toAgentsTools, type KeyleashAgentContext } from '@keyleash/openai-agents';
import { z } from 'zod';

const admin = new KeyleashAdmin({ proxyUrl: 'http://127.0.0.1:8787', adminToken: 'kla_example' });

export async function issueBillingKey(): Promise<IssuedVaultKey> {
  return admin.issueKey({
    vendor: 'stripe',
    daily_usd_cap: 50,
    allowed_endpoints: ['POST /v1/payment_intents', 'GET /v1/customers/*'],
    expires_in: '24h',
    metadata: { role: 'billing', customer_id: 'cus_123' },
  });
}

export async function spendByRole(): Promise<SpendReport> {
  return admin.spend({ groupBy: 'metadata.role' });
}

export async function customerName(vaultKey: string, id: string): Promise<string | null | undefined> {
  const stripe = stripeFor({ vaultKey, proxyUrl: 'http://127.0.0.1:8787' });
  const customer = await stripe.customers.retrieve(id);
  return customer.deleted ? null : customer.name;
}

export function smsClient(vaultKey: string) {
  return twilioFor({ vaultKey }).messages;
}

const lookupCustomer = defineTool({
  name: 'lookup_customer',
  description: 'Read a Stripe customer by id.',
  input: z.object({ id: z.string() }),
  async run(input, { clients }) {
    const customer = await clients.stripe.customers.retrieve(input.id);
    return { id: customer.id, deleted: customer.deleted === true };
  },
});

export function langChainTools(credentials: AgentCredentials): DynamicStructuredTool[] {
  const refunds = langChainSubAgent({
    name: 'refund_agent',
    description: 'Refund under a child key capped at $20.',
    parent: credentials,
    child: { role: 'refunds', policy: { daily_usd_cap: 20, expires_in: '30m' } },
    run: async (input, { credentials: child }) => `would refund ${input.task} as ${child.role}`,
  });
  return [...toLangChainTools([createPaymentIntent, lookupCustomer], credentials), refunds];
}

export function openAiAgent(): Agent<KeyleashAgentContext> {
  const helper = new Agent<KeyleashAgentContext>({ name: 'helper', instructions: 'Look customers up.' });
  const tools: FunctionTool<KeyleashAgentContext, any, string>[] = [
    ...toAgentsTools<KeyleashAgentContext>([lookupCustomer], credentialsFromContext),
    agentsSubAgent<KeyleashAgentContext>(helper, { name: 'ask_helper', description: 'Delegate a lookup.', role: 'helper', childPolicy: { daily_usd_cap: 5 } }, credentialsFromContext),
  ];
  return new Agent<KeyleashAgentContext>({ name: 'billing', instructions: 'Bill carefully.', tools });
}
