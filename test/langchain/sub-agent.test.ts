import { randomUUID } from 'node:crypto';
import { AIMessage, HumanMessage } from '@langchain/core/messages';
import { fakeModel } from '@langchain/core/testing';
import { Annotation, END, START, StateGraph } from '@langchain/langgraph';
import { createAgent } from 'langchain';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createPaymentIntent, keyleashRefusalOf, stripeFor, type AgentCredentials } from '../../packages/client/src/index.ts';
import { runSubAgent, subAgentTool, toLangChainTools, type SubAgentKey } from '../../packages/langchain/src/index.ts';
import type { FakeOpenAI, Turn } from '../upstreams/openai/server.ts';
import { paymentIntentIn, scriptedModel, startStack, type Stack } from './support.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack?.close());

const FEES: SubAgentKey = { role: 'fees', policy: { daily_usd_cap: 15, allowed_endpoints: ['POST /v1/payment_intents'], expires_in: '10m' } };
const charge = (amount: number, id: string): Turn => ({ toolCalls: [{ name: 'create_payment_intent', arguments: { amount, currency: 'usd' }, id }] });

/** the fees sub-agent: a createAgent whose tools are bound to the child's credentials */
function feesAgent(models: FakeOpenAI, credentials: AgentCredentials) {
  return createAgent({ model: scriptedModel(models, 'fees'), tools: toLangChainTools([createPaymentIntent], credentials), name: 'fees', systemPrompt: 'You charge fees.' });
}

async function statusOf(keyId: string) {
  return (await stack.admin.getKey(keyId)).status;
}

describe('a sub-agent under a child key', () => {
  it('runs its calls under a fresh child key that is revoked when it finishes, and its spend counts in the parent key', async () => {
    const billing = await stack.credentialsFor('billing', { daily_usd_cap: 50 }, { runId: 'run-sub-1' });
    const childIds: string[] = [];
    const models = await stack.models({
      billing: [
        charge(2000, 'call_parent_1'),
        { toolCalls: [{ name: 'collect_fees', arguments: { task: 'charge 12 USD shipping, then 5 USD handling' }, id: 'call_delegate' }] },
        (r) => ({ text: `fees agent says: ${r.newToolResults[0]!.output}` }),
      ],
      fees: [charge(1200, 'call_fee_1'), charge(500, 'call_fee_2'), (r) => ({ text: `shipping ${paymentIntentIn(r.toolResults)}; handling: ${r.newToolResults[0]!.output}` })],
    });
    const collectFees = subAgentTool({
      name: 'collect_fees',
      description: 'Delegate fee charges to the fees agent (its own key, at most 15 USD).',
      parent: billing,
      child: FEES,
      run: async ({ task }, { credentials, keyId, signal }) => {
        childIds.push(keyId);
        return feesAgent(models, credentials).invoke({ messages: [new HumanMessage(task)] }, { signal });
      },
    });
    const billingTools = [...toLangChainTools([createPaymentIntent], billing), collectFees];
    const out = await createAgent({ model: scriptedModel(models, 'billing'), tools: billingTools, name: 'billing' }).invoke({
      messages: [new HumanMessage('charge 20 USD and have the fees collected')],
    });

    const [childId] = childIds;
    expect(childIds).toHaveLength(1);
    const childRows = await stack.auditOf(childId!);
    expect(childRows.map((r) => [r.attribution.tool_call_id, r.decision])).toEqual([
      ['call_fee_1', 'allowed'],
      ['call_fee_2', 'refused'], // 12 + 5 > the child's 15 USD cap, though the parent could afford it
    ]);
    expect(childRows.every((r) => r.root_key_id === billing.keyId && r.attribution.agent === 'fees' && r.attribution.run_id === 'run-sub-1')).toBe(true);
    expect((await stack.auditOf(billing.keyId)).map((r) => r.attribution.tool_call_id)).toEqual(['call_parent_1']);

    const child = await stack.admin.getKey(childId!);
    expect(child.parent_id).toBe(billing.keyId);
    // metadata is inherited unchanged: the child keeps role=billing, the sub-agent shows as agent=fees in the audit
    expect(child.policy.metadata).toEqual({ role: 'billing' });
    expect(child.status).toBe('revoked');
    expect(await statusOf(billing.keyId)).toBe('active');
    expect(child.spend!.today_usd).toBe(12);
    expect((await stack.admin.getKey(billing.keyId)).spend!.today_usd).toBe(32);

    // the parent model read the sub-agent's answer, refusal included, as the tool result
    const answer = models.requestsFor('billing')[2]!.newToolResults[0]!;
    expect(answer.callId).toBe('call_delegate');
    expect(answer.output).toMatch(/^shipping pi_\w+; handling: refused by keyleash \(keyleash_daily_cap_reached\)/);
    expect(out.messages.at(-1)!.text).toBe(`fees agent says: ${answer.output}`);
  });

  it('revokes the child when the sub-agent throws, keeps the error an error, and keeps what it spent before in the parent', async () => {
    const billing = await stack.credentialsFor('billing', { daily_usd_cap: 50 });
    const models = await stack.models({ fees: [charge(900, 'call_before_throw'), { error: { status: 400, message: 'context length exceeded', code: 'context_length_exceeded' } }] });
    let childId = '';
    const error = await runSubAgent(billing, FEES, (credentials, { keyId }) => {
      childId = keyId;
      return feesAgent(models, credentials).invoke({ messages: [new HumanMessage('charge 9 USD')] });
    }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(await statusOf(childId)).toBe('revoked');
    expect((await stack.auditOf(childId)).map((r) => r.attribution.tool_call_id)).toEqual(['call_before_throw']);
    expect((await stack.admin.getKey(billing.keyId)).spend!.today_usd).toBe(9);
  });

  it('revokes the child as soon as the sub-agent is aborted; anything it sends afterwards is refused and never reaches Stripe', async () => {
    const billing = await stack.credentialsFor('billing', { daily_usd_cap: 50 });
    const controller = new AbortController();
    let child: { keyId: string; credentials: AgentCredentials } | undefined;
    const run = runSubAgent(
      billing,
      FEES,
      async (credentials, { keyId }) => {
        child = { keyId, credentials };
        controller.abort(new Error('user pressed stop'));
        return new Promise<never>(() => {}); // a sub-agent that would never finish on its own
      },
      { signal: controller.signal },
    );
    await expect(run).rejects.toThrow('user pressed stop');
    expect(await statusOf(child!.keyId)).toBe('revoked');

    const before = stack.chargesUpstream().length;
    const late = await stripeFor({ vaultKey: child!.credentials.vaultKey, proxyUrl: stack.proxyUrl })
      .paymentIntents.create({ amount: 500, currency: 'usd' })
      .catch((e: unknown) => e);
    expect(keyleashRefusalOf(late)?.code).toBe('keyleash_key_revoked');
    expect(stack.chargesUpstream().length).toBe(before);
  });

  it('aborting the outer agent run aborts the nested agent and revokes its child key', async () => {
    const billing = await stack.credentialsFor('billing', { daily_usd_cap: 50 });
    const controller = new AbortController();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let childId = '';
    const models = await stack.models({
      billing: [{ toolCalls: [{ name: 'collect_fees', arguments: { task: 'charge the fees' }, id: 'call_delegate' }] }],
      fees: [
        charge(700, 'call_fee_before_abort'),
        async () => {
          controller.abort(new Error('run cancelled'));
          await held; // the nested model is mid-answer when the run is cancelled
          return charge(700, 'call_fee_after_abort');
        },
      ],
    });
    const collectFees = subAgentTool({
      name: 'collect_fees',
      description: 'Delegate fee charges to the fees agent.',
      parent: billing,
      child: FEES,
      run: async ({ task }, { credentials, keyId, signal }) => {
        childId = keyId;
        return feesAgent(models, credentials).invoke({ messages: [new HumanMessage(task)] }, { signal });
      },
    });
    const outer = createAgent({ model: scriptedModel(models, 'billing'), tools: [collectFees], name: 'billing' }).invoke(
      { messages: [new HumanMessage('collect the fees')] },
      { signal: controller.signal },
    );
    await expect(outer).rejects.toThrow();
    await vi.waitFor(async () => expect(await statusOf(childId)).toBe('revoked'), { timeout: 15_000, interval: 50 });
    release();

    const rows = await stack.auditOf(childId);
    expect(rows.map((r) => r.attribution.tool_call_id)).toEqual(['call_fee_before_abort']);
    expect(models.remaining()).toEqual({ billing: 0, fees: 0 });
  });

  it('runs a LangGraph subgraph node under a child key, driven by LangChain fake models', async () => {
    const billing = await stack.credentialsFor('billing', { daily_usd_cap: 50 });
    let childId = '';
    // SDK-FACTS §4.2: in multi-agent graphs, give every fake AI message its own id
    const model = fakeModel()
      .respond(new AIMessage({ id: randomUUID(), content: '', tool_calls: [{ name: 'create_payment_intent', args: { amount: 1500, currency: 'usd' }, id: 'call_graph_fee', type: 'tool_call' }] }))
      .respond((messages) => new AIMessage({ id: randomUUID(), content: `done: ${paymentIntentIn(messages.at(-1)!.text)}` }));
    const State = Annotation.Root({ request: Annotation<string>(), answer: Annotation<string>() });
    const graph = new StateGraph(State)
      .addNode('fees', async (state) => {
        const result = await runSubAgent(billing, FEES, (credentials, { keyId }) => {
          childId = keyId;
          const agent = createAgent({ model, tools: toLangChainTools([createPaymentIntent], credentials), name: 'fees' });
          return agent.invoke({ messages: [new HumanMessage(state.request)] });
        });
        return { answer: result.messages.at(-1)!.text };
      })
      .addEdge(START, 'fees')
      .addEdge('fees', END)
      .compile();

    const out = await graph.invoke({ request: 'charge the 15 USD fee' });
    expect(out.answer).toMatch(/^done: pi_/);
    expect((await stack.auditOf(childId)).map((r) => [r.attribution.agent, r.attribution.tool_call_id, r.decision])).toEqual([['fees', 'call_graph_fee', 'allowed']]);
    expect(await statusOf(childId)).toBe('revoked');
    expect((await stack.admin.getKey(billing.keyId)).spend!.today_usd).toBe(15);
  });

  it('tells the model, instead of crashing, when the parent key can no longer mint a child', async () => {
    const billing = await stack.credentialsFor('billing', { daily_usd_cap: 50 });
    await stack.admin.revoke(billing.keyId);
    const models = await stack.models({ fees: [] });
    const collectFees = subAgentTool({
      name: 'collect_fees',
      description: 'Delegate fee charges to the fees agent.',
      parent: billing,
      child: FEES,
      run: ({ task }, { credentials }) => feesAgent(models, credentials).invoke({ messages: [new HumanMessage(task)] }),
    });
    const result = await collectFees.invoke({ type: 'tool_call', id: 'call_no_child', name: 'collect_fees', args: { task: 'charge the fees' } });
    expect(result.content).toMatch(/^refused by keyleash \(keyleash_child_key_refused\) in tool collect_fees: .*Do not retry/);
    expect(models.requests).toHaveLength(0);
  });
});
