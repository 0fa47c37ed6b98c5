import { HumanMessage, ToolMessage } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { createAgent } from 'langchain';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createPaymentIntent, defineTool, retrieveCustomer } from '../../packages/client/src/index.ts';
import { credentialsFromContext, KeyleashRefusalError, toLangChainTool, toLangChainTools, wrapToolFactory } from '../../packages/langchain/src/index.ts';
import { paymentIntentIn, scriptedModel, startStack, type Stack } from './support.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack?.close());

const charge = (amount: number, id: string) => ({ name: 'create_payment_intent', arguments: { amount, currency: 'usd' }, id });

describe('neutral tools as LangChain tools', () => {
  it('one tool definition used by two agents sends each call under its own agent key, attributed to agent, run, tool and tool call', async () => {
    const billing = await stack.credentialsFor('billing', {}, { runId: 'run-tools-1' });
    const sales = await stack.credentialsFor('sales', {}, { runId: 'run-tools-1' });
    const models = await stack.models({
      billing: [{ toolCalls: [charge(1100, 'call_billing_1')] }, (r) => ({ text: `billing charged ${paymentIntentIn(r.newToolResults)}` })],
      sales: [{ toolCalls: [charge(2200, 'call_sales_1'), charge(300, 'call_sales_2')] }, (r) => ({ text: `sales charged ${r.newToolResults.length} times` })],
    });
    const agentFor = (credentials: typeof billing, name: string) =>
      createAgent({ model: scriptedModel(models, name), tools: toLangChainTools([createPaymentIntent], credentials), name, systemPrompt: `You are the ${name} agent.` });

    const [billingOut, salesOut] = await Promise.all([
      agentFor(billing, 'billing').invoke({ messages: [new HumanMessage('charge 11 USD')] }),
      agentFor(sales, 'sales').invoke({ messages: [new HumanMessage('charge 22 and 3 USD')] }),
    ]);
    expect(billingOut.messages.at(-1)!.text).toMatch(/^billing charged pi_/);
    expect(salesOut.messages.at(-1)!.text).toBe('sales charged 2 times');

    const billingRows = await stack.auditOf(billing.keyId);
    const salesRows = await stack.auditOf(sales.keyId);
    expect(billingRows.map((r) => r.attribution)).toEqual([{ agent: 'billing', run_id: 'run-tools-1', tool: 'create_payment_intent', tool_call_id: 'call_billing_1' }]);
    expect(salesRows.map((r) => r.attribution.tool_call_id).sort()).toEqual(['call_sales_1', 'call_sales_2']);
    expect(salesRows.every((r) => r.attribution.agent === 'sales' && r.metadata.role === 'sales' && r.decision === 'allowed')).toBe(true);
    expect(salesRows.map((r) => r.settled_usd).sort((a, b) => a - b)).toEqual([3, 22]);
    for (const request of stack.chargesUpstream()) {
      expect(request.headers.authorization).toBe('Bearer sk_test_REALSECRET_langchain_0123456789');
      expect(Object.keys(request.headers).filter((h) => h.startsWith('keyleash-'))).toEqual([]);
    }
  });

  it('a refusal is a result the model can read by default, and a KeyleashRefusalError when onRefusal is throw', async () => {
    const narrow = await stack.credentialsFor('narrow', { allowed_endpoints: ['GET /v1/customers/*'] });
    const call = { type: 'tool_call' as const, id: 'call_refused', name: 'create_payment_intent', args: { amount: 100, currency: 'usd' } };

    const returned = await toLangChainTool(createPaymentIntent, narrow).invoke(call);
    expect(returned).toBeInstanceOf(ToolMessage);
    expect(returned.tool_call_id).toBe('call_refused');
    expect(returned.content).toMatch(/^refused by keyleash \(keyleash_endpoint_not_allowed\) in tool create_payment_intent: .*Do not retry/);

    const thrown = await toLangChainTool(createPaymentIntent, narrow, { onRefusal: 'throw' })
      .invoke(call)
      .catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(KeyleashRefusalError);
    expect((thrown as KeyleashRefusalError).code).toBe('keyleash_endpoint_not_allowed');
    expect((thrown as KeyleashRefusalError).message).toBe(returned.content);
    const rows = await stack.auditOf(narrow.keyId);
    expect(rows.map((r) => [r.decision, r.attribution.tool_call_id])).toEqual([
      ['refused', 'call_refused'],
      ['refused', 'call_refused'],
    ]);
    expect(stack.chargesUpstream().some((r) => r.rawBody.includes('amount=100&'))).toBe(false);
  });

  it('errors that are not keyleash refusals stay errors: a Stripe 404 and a bug in the tool both throw', async () => {
    const lookup = await stack.credentialsFor('lookup', { allowed_endpoints: ['GET /v1/customers/*'] });
    const missing = await toLangChainTool(retrieveCustomer, lookup)
      .invoke({ customer: 'cus_doesnotexist' })
      .catch((e: unknown) => e);
    expect((missing as Stripe.errors.StripeError).type).toBe('StripeInvalidRequestError');
    expect((missing as Stripe.errors.StripeError).statusCode).toBe(404);

    const buggy = defineTool({
      name: 'buggy',
      description: 'always fails',
      input: z.object({}),
      async run() {
        throw new TypeError('tool bug');
      },
    });
    await expect(toLangChainTool(buggy, lookup).invoke({})).rejects.toThrow('tool bug');
  });

  it('credentials can come from the invocation context, one entry per agent name', async () => {
    const alice = await stack.credentialsFor('alice', {});
    const bob = await stack.credentialsFor('bob', {});
    const models = await stack.models({
      alice: [{ toolCalls: [charge(700, 'call_ctx_alice')] }, { text: 'alice done' }],
      bob: [{ toolCalls: [charge(800, 'call_ctx_bob')] }, { text: 'bob done' }],
    });
    const tools = toLangChainTools([createPaymentIntent], credentialsFromContext());
    const context = { keyleash: { alice, bob } };
    for (const name of ['alice', 'bob']) {
      await createAgent({ model: scriptedModel(models, name), tools, name }).invoke({ messages: [new HumanMessage('charge')] }, { context });
    }
    expect((await stack.auditOf(alice.keyId)).map((r) => [r.attribution.agent, r.attribution.tool_call_id])).toEqual([['alice', 'call_ctx_alice']]);
    expect((await stack.auditOf(bob.keyId)).map((r) => [r.attribution.agent, r.attribution.tool_call_id])).toEqual([['bob', 'call_ctx_bob']]);
  });
});

describe('wrapToolFactory: existing LangChain tool code under a vault key', () => {
  // The user's code, unchanged: LangChain tools closing over a Stripe client they are given.
  function makeBillingTools(stripe: Stripe) {
    return [
      tool(
        async ({ amount, order }) => {
          const intent = await stripe.paymentIntents.create({ amount, currency: 'usd', metadata: { order } });
          return `charged ${intent.amount} for order ${order}: ${intent.id}`;
        },
        { name: 'charge_order', description: 'Charge an order in USD cents', schema: z.object({ amount: z.number().int(), order: z.string() }) },
      ),
    ];
  }

  it('runs the user tools with a client bound to the vault key; the real secret only reaches the upstream, each call is attributed', async () => {
    const billing = await stack.credentialsFor('billing', { daily_usd_cap: 30 }, { runId: 'run-factory' });
    const tools = wrapToolFactory(({ stripe }) => makeBillingTools(stripe), billing);
    const models = await stack.models({
      billing: [
        {
          toolCalls: [
            { name: 'charge_order', arguments: { amount: 1000, order: 'o-1' }, id: 'call_f1' },
            { name: 'charge_order', arguments: { amount: 1500, order: 'o-2' }, id: 'call_f2' },
          ],
        },
        { toolCalls: [{ name: 'charge_order', arguments: { amount: 900, order: 'o-3' }, id: 'call_f3' }] },
        (r) => ({ text: r.newToolResults[0]!.output }),
      ],
    });
    const out = await createAgent({ model: scriptedModel(models, 'billing'), tools, name: 'billing' }).invoke({ messages: [new HumanMessage('charge o-1, o-2, o-3')] });

    const results = models.requestsFor('billing')[1]!.newToolResults.map((r) => r.output);
    expect(results.every((text) => /^charged \d+ for order o-\d: pi_/.test(text))).toBe(true);
    // 10 + 15 = 25 of a 30 USD cap: the third charge (9 USD) is refused, and the model reads why
    expect(out.messages.at(-1)!.text).toMatch(/^refused by keyleash \(keyleash_daily_cap_reached\) in tool charge_order: .*Do not retry/);
    const rows = await stack.auditOf(billing.keyId);
    expect(rows.map((r) => [r.attribution.tool, r.attribution.tool_call_id, r.decision]).sort()).toEqual([
      ['charge_order', 'call_f1', 'allowed'],
      ['charge_order', 'call_f2', 'allowed'],
      ['charge_order', 'call_f3', 'refused'],
    ]);
    expect(rows.every((r) => r.attribution.agent === 'billing' && r.attribution.run_id === 'run-factory')).toBe(true);
    // the proxy knew the calls by the vault key (audit rows above); the upstream saw only the real secret
    const orders = stack.chargesUpstream().filter((r) => (r.form.metadata as Record<string, string> | undefined)?.order?.startsWith('o-'));
    expect(orders).toHaveLength(2);
    expect(orders.every((r) => r.headers.authorization === 'Bearer sk_test_REALSECRET_langchain_0123456789')).toBe(true);
  });
});
