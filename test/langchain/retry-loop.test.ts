import { HumanMessage } from '@langchain/core/messages';
import { createAgent } from 'langchain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPaymentIntent } from '../../packages/client/src/index.ts';
import { toLangChainTools } from '../../packages/langchain/src/index.ts';
import type { ScriptStep } from '../upstreams/openai/server.ts';
import { scriptedModel, startStack, type Stack } from './support.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack?.close());

const chargeTen = (id: string): ScriptStep => ({ toolCalls: [{ name: 'create_payment_intent', arguments: { amount: 1000, currency: 'usd', description: id }, id }] });

describe('a model stuck in a retry loop', () => {
  it('is stopped by the cap: exactly the affordable charges reach Stripe, and the model is told the cap is reached and not to retry', async () => {
    const billing = await stack.credentialsFor('billing', { daily_usd_cap: 30 });
    // The stuck model: it asks for the same 10 USD charge six times, whatever it is told.
    const stuck = Array.from({ length: 6 }, (_, i) => chargeTen(`call_loop_${i + 1}`));
    const models = await stack.models({ billing: [...stuck, (r) => ({ text: `giving up: ${r.newToolResults[0]!.output}` })] });
    const before = stack.chargesUpstream().length;

    const out = await createAgent({ model: scriptedModel(models, 'billing', { streaming: true }), tools: toLangChainTools([createPaymentIntent], billing), name: 'billing' }).invoke({
      messages: [new HumanMessage('charge 10 USD, and keep trying until it works')],
    });

    expect(stack.chargesUpstream().length - before).toBe(3);
    const requests = models.requestsFor('billing');
    expect(requests).toHaveLength(7);
    expect(requests.every((r) => r.stream)).toBe(true);
    // requests 1-3 carry a PaymentIntent; the request after the 4th call carries the refusal
    expect(requests.slice(1, 4).map((r) => r.newToolResults[0]!.output)).toEqual(Array(3).fill(expect.stringMatching(/"id":"pi_.*"status":"requires_payment_method"/)));
    const refusal = requests[4]!.newToolResults[0]!;
    expect(refusal.callId).toBe('call_loop_4');
    expect(refusal.output).toMatch(/^refused by keyleash \(keyleash_daily_cap_reached\) in tool create_payment_intent: Refused: spend cap reached\./);
    expect(refusal.output).toContain('daily cap of $30.00 and has spent $30.00');
    expect(refusal.output).toContain('Do not retry');
    expect(requests.slice(5).every((r) => r.newToolResults[0]!.output.includes('keyleash_daily_cap_reached'))).toBe(true);
    expect(out.messages.at(-1)!.text).toBe(`giving up: ${requests[6]!.newToolResults[0]!.output}`);

    const rows = await stack.auditOf(billing.keyId);
    expect(rows.map((r) => r.decision)).toEqual(['allowed', 'allowed', 'allowed', 'refused', 'refused', 'refused']);
    expect(rows.map((r) => r.attribution.tool_call_id)).toEqual(stuck.map((_, i) => `call_loop_${i + 1}`));
    expect((await stack.admin.getKey(billing.keyId)).spend!.today_usd).toBe(30);
  });

  it('asking for many charges at once cannot overshoot the cap either: parallel tool calls are admitted one cap at a time', async () => {
    const billing = await stack.credentialsFor('billing', { daily_usd_cap: 30 });
    const ids = Array.from({ length: 5 }, (_, i) => `call_par_${i + 1}`);
    const models = await stack.models({
      billing: [{ toolCalls: ids.map((id) => ({ name: 'create_payment_intent', arguments: { amount: 1000, currency: 'usd' }, id })) }, (r) => ({ text: r.newToolResults.map((t) => t.output.slice(0, 40)).join(' | ') })],
    });
    const before = stack.chargesUpstream().length;
    await createAgent({ model: scriptedModel(models, 'billing'), tools: toLangChainTools([createPaymentIntent], billing), name: 'billing' }).invoke({ messages: [new HumanMessage('charge five times')] });

    expect(stack.chargesUpstream().length - before).toBe(3);
    const results = models.requestsFor('billing')[1]!.newToolResults;
    expect(results.map((r) => r.callId).sort()).toEqual(ids);
    expect(results.filter((r) => r.output.includes('keyleash_daily_cap_reached'))).toHaveLength(2);
  });
});
