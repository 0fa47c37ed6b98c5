/**
 * The group chat: a supervisor routing between a billing agent and a refund agent, each with its
 * own vault key and tools. The billing agent hands fee charges to a nested fees agent that runs
 * under a child key derived from the billing key (capped at 15 USD) and revoked when it finishes.
 */
import { createPaymentIntent, type AgentCredentials } from '@keyleash/client';
import { subAgentTool, toLangChainTools, wrapToolFactory } from '@keyleash/langchain';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { HumanMessage } from '@langchain/core/messages';
import { createSupervisor } from '@langchain/langgraph-supervisor';
import { createAgent } from 'langchain';
import { lookupPayment, refundTools } from './tools.ts';

export interface GroupChatModels {
  supervisor: BaseChatModel;
  billing: BaseChatModel;
  fees: BaseChatModel;
  refunds: BaseChatModel;
}

export interface GroupChatCredentials {
  billing: AgentCredentials;
  refunds: AgentCredentials;
}

/** the fees agent's child key: at most 15 USD, payment intents only, dead after 15 minutes at the latest */
export const FEES_CHILD_POLICY = { daily_usd_cap: 15, allowed_endpoints: ['POST /v1/payment_intents'], expires_in: '15m' };

const NO_RETRY = "If a tool answer starts with 'refused by keyleash', do not retry that call: report the refusal.";

export function buildGroupChat(models: GroupChatModels, credentials: GroupChatCredentials, hooks: { onChildKey?: (keyId: string) => void } = {}) {
  const collectFees = subAgentTool({
    name: 'collect_fees',
    description: 'Hand fee charges (shipping, handling) to the fees agent, which charges them under its own key capped at 15 USD. Describe the fees, amounts and card in task.',
    parent: credentials.billing,
    child: { role: 'fees', policy: FEES_CHILD_POLICY },
    run: async ({ task }, { credentials: child, keyId, signal }) => {
      hooks.onChildKey?.(keyId);
      const fees = createAgent({
        model: models.fees,
        tools: toLangChainTools([createPaymentIntent], child),
        name: 'fees_agent',
        systemPrompt: `You are the fees agent. Charge each fee with its own create_payment_intent call (amount in cents, currency usd, the card as payment_method). ${NO_RETRY} Finish with one line per fee.`,
      });
      return fees.invoke({ messages: [new HumanMessage(task)] }, { signal });
    },
  });

  // (a separate array: langchain 1.5's createAgent typings reject an inline `[...tools, tool]`)
  const billingTools = [...toLangChainTools([createPaymentIntent], credentials.billing), collectFees];
  const billingAgent = createAgent({
    model: models.billing,
    tools: billingTools,
    name: 'billing_agent',
    systemPrompt: `You are the billing agent. Charge order totals with create_payment_intent (amount in cents, currency usd, the card as payment_method), and hand fees to the fees agent with collect_fees. ${NO_RETRY} Finish with one line naming each PaymentIntent id.`,
  });

  const refundAgentTools = [...toLangChainTools([lookupPayment], credentials.refunds), ...wrapToolFactory(({ stripe }) => refundTools(stripe), credentials.refunds)];
  const refundAgent = createAgent({
    model: models.refunds,
    tools: refundAgentTools,
    name: 'refund_agent',
    systemPrompt: `You are the refund agent. Check the payment with lookup_payment, then refund with refund_payment (amount in cents). ${NO_RETRY} Finish with one line.`,
  });

  return createSupervisor({
    agents: [billingAgent.graph, refundAgent.graph],
    llm: models.supervisor,
    prompt:
      'You supervise a billing agent and a refund agent. Send all charging (order totals and fees) to billing_agent first, then refunds to refund_agent. Never do the work yourself. When both are done, answer with a two-line summary.',
  }).compile();
}
