import { HumanMessage } from '@langchain/core/messages';
import { createSupervisor } from '@langchain/langgraph-supervisor';
import { createAgent } from 'langchain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPaymentIntent, createRefund, type AgentCredentials } from '../../packages/client/src/index.ts';
import { toLangChainTools } from '../../packages/langchain/src/index.ts';
import type { FakeOpenAI, ScriptStep, Turn } from '../upstreams/openai/server.ts';
import { paymentIntentIn, scriptedModel, startStack, type Stack } from './support.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack?.close());

const POLICIES = {
  billing: { daily_usd_cap: 200, allowed_endpoints: ['POST /v1/payment_intents'] },
  refunds: { daily_usd_cap: 40, allowed_endpoints: ['POST /v1/refunds'] },
};

/** The seed's group chat: a supervisor routing between a billing agent and a refund agent, each on its own key. */
function groupChat(models: FakeOpenAI, billing: AgentCredentials, refunds: AgentCredentials) {
  const billingAgent = createAgent({
    model: scriptedModel(models, 'billing_agent'),
    tools: toLangChainTools([createPaymentIntent], billing),
    name: 'billing_agent',
    systemPrompt: 'You charge customers.',
  });
  const refundAgent = createAgent({
    model: scriptedModel(models, 'refund_agent'),
    tools: toLangChainTools([createRefund], refunds),
    name: 'refund_agent',
    systemPrompt: 'You refund payments.',
  });
  return createSupervisor({
    agents: [billingAgent.graph, refundAgent.graph],
    llm: scriptedModel(models, 'supervisor'),
    prompt: 'Route billing work to billing_agent and refunds to refund_agent.',
  }).compile();
}

const transfer = (agent: string): ScriptStep => ({ toolCalls: [{ name: `transfer_to_${agent}`, arguments: {} }] });
const chargeCard = (amount: number, id: string): Turn => ({
  toolCalls: [{ name: 'create_payment_intent', arguments: { amount, currency: 'usd', payment_method: 'pm_card_visa' }, id }],
});
/** the refund agent refunds the newest payment the conversation mentions, as a model reading it would */
const refundNewest = (amount: number, id: string): ScriptStep => (request) => {
  const intents = request.transcript.match(/pi_[A-Za-z0-9]+/g) ?? [];
  return { toolCalls: [{ name: 'create_refund', arguments: { payment_intent: intents.at(-1), amount }, id }] };
};
const reportToolResults: ScriptStep = (request) => ({ text: request.newToolResults.map((r) => r.output).join('\n') });

describe('group chat: a supervisor, a billing agent and a refund agent with their own keys', () => {
  it('every audit row of the billing agent carries the billing key, every row of the refund agent the refund key', async () => {
    const billing = await stack.credentialsFor('billing', POLICIES.billing, { runId: 'run-chat-1' });
    const refunds = await stack.credentialsFor('refunds', POLICIES.refunds, { runId: 'run-chat-1' });
    const models = await stack.models({
      supervisor: [transfer('billing_agent'), transfer('refund_agent'), transfer('billing_agent'), transfer('refund_agent'), { text: 'All done.' }],
      billing_agent: [chargeCard(4900, 'call_b1'), chargeCard(1500, 'call_b2'), reportToolResults, chargeCard(2500, 'call_b3'), reportToolResults],
      refund_agent: [refundNewest(1000, 'call_r1'), reportToolResults, refundNewest(500, 'call_r2'), reportToolResults],
    });

    const out = await groupChat(models, billing, refunds).invoke({ messages: [new HumanMessage('Charge the two orders, refund 10 USD, charge the third, refund 5 USD.')] });
    expect(out.messages.at(-1)!.text).toBe('All done.');
    expect(Object.values(models.remaining()).every((left) => left === 0)).toBe(true);

    const rows = [...(await stack.auditOf(billing.keyId)), ...(await stack.auditOf(refunds.keyId))].sort((a, b) => a.seq - b.seq);
    const billingRows = rows.filter((r) => r.attribution.agent === 'billing');
    const refundRows = rows.filter((r) => r.attribution.agent === 'refunds');
    expect(billingRows.map((r) => r.attribution.tool_call_id)).toEqual(['call_b1', 'call_b2', 'call_b3']);
    expect(refundRows.map((r) => r.attribution.tool_call_id)).toEqual(['call_r1', 'call_r2']);
    expect(billingRows.every((r) => r.vault_key_id === billing.keyId && r.path === '/api.stripe.com/v1/payment_intents' && r.decision === 'allowed')).toBe(true);
    expect(refundRows.every((r) => r.vault_key_id === refunds.keyId && r.path === '/api.stripe.com/v1/refunds' && r.decision === 'allowed')).toBe(true);
    expect(rows.every((r) => r.attribution.run_id === 'run-chat-1')).toBe(true);
    // the agents took turns: billing, refund, billing, refund
    expect(rows.map((r) => r.attribution.agent)).toEqual(['billing', 'billing', 'refunds', 'billing', 'refunds']);
    // the second refund went to the third charge: the refund agent read the ids the billing agent reported
    const refundedIntents = stack.upstream.requests.filter((r) => r.path === '/v1/refunds').map((r) => r.form.payment_intent);
    const billingAnswers = models
      .requestsFor('billing_agent')
      .flatMap((r) => r.newToolResults.map((t) => t.output))
      .filter((output) => output.startsWith('{"id":"pi_'))
      .map((output) => JSON.parse(output).id as string);
    expect(billingAnswers).toHaveLength(3);
    expect(refundedIntents.slice(-2)).toEqual([billingAnswers[1], billingAnswers[2]]);
    expect((await stack.admin.getKey(billing.keyId)).spend!.today_usd).toBe(89);
    expect((await stack.admin.getKey(refunds.keyId)).spend!.today_usd).toBe(15);
  });

  it('revoking the billing key mid-run stops billing calls and leaves refunds working', async () => {
    const billing = await stack.credentialsFor('billing', POLICIES.billing);
    const refunds = await stack.credentialsFor('refunds', POLICIES.refunds);
    const chargesBefore = stack.chargesUpstream().length;
    const refundsBefore = stack.upstream.requests.filter((r) => r.path === '/v1/refunds').length;
    const models = await stack.models({
      supervisor: [transfer('billing_agent'), transfer('refund_agent'), { text: 'Billing is locked; the refund went through.' }],
      billing_agent: [
        chargeCard(3000, 'call_before_revoke'),
        async () => {
          // an operator pulls the billing key while the billing agent is still working
          await stack.admin.revoke(billing.keyId);
          return chargeCard(3000, 'call_after_revoke');
        },
        (request) => ({ text: `first charge ${paymentIntentIn(request.toolResults)}; second: ${request.newToolResults[0]!.output}` }),
      ],
      refund_agent: [refundNewest(1200, 'call_refund'), reportToolResults],
    });

    const out = await groupChat(models, billing, refunds).invoke({ messages: [new HumanMessage('Charge 30 USD twice, then refund 12 USD of it.')] });
    expect(out.messages.at(-1)!.text).toBe('Billing is locked; the refund went through.');

    expect(stack.chargesUpstream().length - chargesBefore).toBe(1);
    expect(stack.upstream.requests.filter((r) => r.path === '/v1/refunds').length - refundsBefore).toBe(1);
    const billingRows = await stack.auditOf(billing.keyId);
    expect(billingRows.map((r) => [r.attribution.tool_call_id, r.decision, r.reason === null ? null : r.reason.split(':')[0]])).toEqual([
      ['call_before_revoke', 'allowed', null],
      ['call_after_revoke', 'refused', expect.stringContaining('keyleash_key_revoked')],
    ]);
    const billingTold = models.requestsFor('billing_agent')[2]!.newToolResults[0]!.output;
    expect(billingTold).toMatch(/^refused by keyleash \(keyleash_key_revoked\) in tool create_payment_intent: .*revoked.*Do not retry/);
    const refundRows = await stack.auditOf(refunds.keyId);
    expect(refundRows.map((r) => [r.attribution.agent, r.attribution.tool_call_id, r.decision, r.settled_usd])).toEqual([['refunds', 'call_refund', 'allowed', 12]]);
    expect((await stack.admin.getKey(refunds.keyId)).status).toBe('active');
    // the refund agent refunded the payment the billing agent made before the key was pulled
    const refundedIntent = stack.upstream.requests.filter((r) => r.path === '/v1/refunds').at(-1)!.form.payment_intent;
    expect(billingRows[0]!.upstream_request_id).not.toBeNull();
    expect(models.requestsFor('refund_agent')[0]!.transcript).toContain(`first charge ${refundedIntent}`);
  });
});
