import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, Runner, handoff, run, type RunContext } from '@openai/agents';
import { ScriptedModel, assistantMessage, functionCall } from '@openai/agents/testing';
import { createPaymentIntent, createRefund, retrieveCustomer, type AgentCredentials, type KeyPolicyInput } from '../../packages/client/src/index.ts';
import { toAgentsTool } from '../../packages/openai-agents/src/index.ts';
import { barrier, respondingModel, startStack, toolOutputs, userText, type Stack } from './support.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const POLICIES: Record<'triage' | 'billing' | 'refunds', Partial<KeyPolicyInput>> = {
  triage: { daily_usd_cap: null, allowed_endpoints: ['GET /v1/customers/*'] },
  billing: { daily_usd_cap: 200, allowed_endpoints: ['POST /v1/payment_intents'] },
  refunds: { daily_usd_cap: 100, allowed_endpoints: ['POST /v1/refunds'] },
};

describe('handoffs', () => {
  it('triage hands off to billing, billing to refunds, and each agent calls out under its own vault key', async () => {
    const runId = 'run-handoffs-1';
    const triageKey = await stack.credentialsFor('triage', POLICIES.triage, { runId });
    const billingKey = await stack.credentialsFor('billing', POLICIES.billing, { runId });
    const refundsKey = await stack.credentialsFor('refunds', POLICIES.refunds, { runId });
    const customer = await stack.customer('Ada');
    const duplicateOrder = await stack.paidOrder(2500, customer);

    const refunds = new Agent({
      name: 'refunds',
      instructions: 'Refund orders.',
      model: new ScriptedModel([
        [functionCall('create_refund', { payment_intent: duplicateOrder }, { callId: 'call_refund' })],
        [assistantMessage('Charged $42.00 and refunded the duplicate $25.00 order.')],
      ]),
      tools: [toAgentsTool(createRefund, refundsKey)],
    });
    const billing = new Agent({
      name: 'billing',
      instructions: 'Charge customers; send refunds to the refunds agent.',
      model: new ScriptedModel([
        [functionCall('create_payment_intent', { amount: 4200, currency: 'usd', customer }, { callId: 'call_charge' })],
        [functionCall('transfer_to_refunds', {}, { callId: 'call_to_refunds' })],
      ]),
      tools: [toAgentsTool(createPaymentIntent, billingKey)],
      handoffs: [refunds],
    });
    const triage = new Agent({
      name: 'triage',
      instructions: 'Look the customer up, then hand off.',
      model: new ScriptedModel([
        [functionCall('retrieve_customer', { customer }, { callId: 'call_lookup' })],
        [functionCall('transfer_to_billing', {}, { callId: 'call_to_billing' })],
      ]),
      tools: [toAgentsTool(retrieveCustomer, triageKey)],
      handoffs: [billing, refunds],
    });

    const result = await run(triage, `I am ${customer}: charge my new $42 order and refund the duplicate ${duplicateOrder}.`);

    expect(result.lastAgent?.name).toBe('refunds');
    expect(result.finalOutput).toBe('Charged $42.00 and refunded the duplicate $25.00 order.');
    const rows = await stack.admin.audit();
    const mine = rows.filter((r) => r.attribution.run_id === runId).sort((a, b) => a.seq - b.seq);
    expect(mine.map((r) => [r.vault_key_id, r.attribution.agent, r.attribution.tool, r.attribution.tool_call_id, r.method, r.path, r.decision])).toEqual([
      [triageKey.keyId, 'triage', 'retrieve_customer', 'call_lookup', 'GET', `/api.stripe.com/v1/customers/${customer}`, 'allowed'],
      [billingKey.keyId, 'billing', 'create_payment_intent', 'call_charge', 'POST', '/api.stripe.com/v1/payment_intents', 'allowed'],
      [refundsKey.keyId, 'refunds', 'create_refund', 'call_refund', 'POST', '/api.stripe.com/v1/refunds', 'allowed'],
    ]);
    expect((await stack.admin.getKey(billingKey.keyId)).spend!.today_usd).toBeCloseTo(42, 6);
    expect((await stack.admin.getKey(refundsKey.keyId)).spend!.today_usd).toBeCloseTo(25, 6);
    expect((await stack.admin.getKey(triageKey.keyId)).spend!.today_usd).toBe(0);
  });

  it('with keys from the run context, two concurrent runs of the same agents use their own tenant keys on both sides of the handoff', async () => {
    interface TenantContext {
      tenant: string;
      keys: { triage: AgentCredentials; billing: AgentCredentials };
    }
    const byRole = (role: 'triage' | 'billing') => (rc: RunContext<TenantContext>) => rc.context.keys[role];
    const bothMidRun = barrier(2);
    // one definition for every tenant; each model answer depends only on the request it gets
    const billing = new Agent<TenantContext>({
      name: 'billing',
      model: respondingModel((request) => {
        const done = toolOutputs(request).some((o) => o.name === 'create_payment_intent');
        const amount = Number(/charge (\d+)/.exec(userText(request))?.[1]);
        return done ? [assistantMessage('charged')] : [functionCall('create_payment_intent', { amount, currency: 'usd' }, { callId: `call_charge_${amount}` })];
      }),
      tools: [toAgentsTool(createPaymentIntent, byRole('billing'))],
    });
    const triage = new Agent<TenantContext>({
      name: 'triage',
      model: respondingModel(async (request) => {
        await bothMidRun.arrive();
        return [functionCall('transfer_to_billing', {}, { callId: 'call_to_billing' })];
      }),
      handoffs: [handoff(billing)],
      tools: [toAgentsTool(retrieveCustomer, byRole('triage'))],
    });
    const tenants = await Promise.all(
      ['acme', 'globex'].map(async (tenant) => ({
        tenant,
        keys: {
          triage: await stack.credentialsFor('triage', { ...POLICIES.triage, metadata: { tenant } }, { runId: `run-${tenant}` }),
          billing: await stack.credentialsFor('billing', { ...POLICIES.billing, metadata: { tenant } }, { runId: `run-${tenant}` }),
        },
      })),
    );
    const runner = new Runner();

    await Promise.all(tenants.map((context, i) => runner.run(triage, `charge ${(i + 1) * 1000}`, { context })));

    for (const [i, { tenant, keys }] of tenants.entries()) {
      const rows = await stack.admin.audit({ metadata: { tenant } });
      expect(rows.map((r) => [r.vault_key_id, r.attribution.agent, r.attribution.run_id, r.attribution.tool_call_id])).toEqual([
        [keys.billing.keyId, 'billing', `run-${tenant}`, `call_charge_${(i + 1) * 1000}`],
      ]);
    }
  });
});
