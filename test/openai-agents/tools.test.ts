import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, Runner, ToolCallError, generateTraceId, run, setTraceProcessors, setTracingDisabled } from '@openai/agents';
import { ScriptedModel, assistantMessage, functionCall } from '@openai/agents/testing';
import { createPaymentIntent } from '../../packages/client/src/index.ts';
import { KeyleashRefusalError, toAgentsTool } from '../../packages/openai-agents/src/index.ts';
import { startStack, toolOutputs, upstreamPosts, type Stack } from './support.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const CHARGES = { allowed_endpoints: ['POST /v1/payment_intents'] };

describe('toAgentsTool', () => {
  it('shows a refusal to the model as the tool output, sends nothing upstream, and the run carries on', async () => {
    const billing = await stack.credentialsFor('billing', { ...CHARGES, daily_usd_cap: 10 });
    const model = new ScriptedModel([
      [functionCall('create_payment_intent', { amount: 5000, currency: 'usd' }, { callId: 'call_over_cap' })],
      [assistantMessage('I could not charge $50: the spend cap was reached.')],
    ]);
    const agent = new Agent({ name: 'billing', instructions: 'Charge customers.', model, tools: [toAgentsTool(createPaymentIntent, billing)] });
    const before = upstreamPosts(stack.upstream, '/v1/payment_intents').length;

    const result = await run(agent, 'Charge $50.');

    expect(result.finalOutput).toBe('I could not charge $50: the spend cap was reached.');
    const shown = toolOutputs(model.calls[1]!.request);
    expect(shown).toHaveLength(1);
    expect(shown[0]!.callId).toBe('call_over_cap');
    expect(shown[0]!.text).toMatch(/^refused by keyleash \(keyleash_daily_cap_reached\) in tool create_payment_intent: .*Do not retry/s);
    expect(upstreamPosts(stack.upstream, '/v1/payment_intents').length).toBe(before);
    const rows = await stack.admin.audit({ vaultKeyId: billing.keyId });
    expect(rows.map((r) => [r.decision, r.reason, r.attribution.tool_call_id])).toEqual([['refused', 'keyleash_daily_cap_reached', 'call_over_cap']]);
  });

  it("with refusals: 'throw', run() rejects with a ToolCallError carrying the KeyleashRefusalError", async () => {
    const billing = await stack.credentialsFor('billing', { ...CHARGES, daily_usd_cap: 10 });
    const model = new ScriptedModel([[functionCall('create_payment_intent', { amount: 5000, currency: 'usd' }, { callId: 'call_1' })]]);
    const agent = new Agent({ name: 'billing', model, tools: [toAgentsTool(createPaymentIntent, billing, { refusals: 'throw' })] });

    const error = await run(agent, 'Charge $50.').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ToolCallError);
    const cause = (error as ToolCallError).error;
    expect(cause).toBeInstanceOf(KeyleashRefusalError);
    expect((cause as KeyleashRefusalError).code).toBe('keyleash_daily_cap_reached');
    expect(model.calls).toHaveLength(1);
  });

  it('fails the run on a vendor error that is not a refusal, instead of passing it off as one', async () => {
    const billing = await stack.credentialsFor('billing', { ...CHARGES, daily_usd_cap: 100 });
    stack.upstream.inject({ method: 'POST', pathPrefix: '/v1/payment_intents', status: 500, headers: { 'stripe-should-retry': 'false' }, times: 5 });
    const model = new ScriptedModel([[functionCall('create_payment_intent', { amount: 500, currency: 'usd' }, { callId: 'call_1' })], [assistantMessage('unreachable')]]);
    const agent = new Agent({ name: 'billing', model, tools: [toAgentsTool(createPaymentIntent, billing)] });

    const error = await run(agent, 'Charge $5.').catch((e: unknown) => e);
    stack.upstream.reset();

    expect(error).toBeInstanceOf(ToolCallError);
    expect((error as ToolCallError).error).not.toBeInstanceOf(KeyleashRefusalError);
    expect(String((error as ToolCallError).error)).toMatch(/unknown error/i);
    expect(model.calls).toHaveLength(1);
  });

  it('tells the model when its arguments do not fit the tool, so it can correct them', async () => {
    const billing = await stack.credentialsFor('billing', { ...CHARGES, daily_usd_cap: 100 });
    const model = new ScriptedModel([
      [functionCall('create_payment_intent', { amount: 'fifty dollars', currency: 'usd' }, { callId: 'call_bad' })],
      [assistantMessage('retrying with cents')],
    ]);
    const agent = new Agent({ name: 'billing', model, tools: [toAgentsTool(createPaymentIntent, billing)] });

    await run(agent, 'Charge $50.');

    expect(toolOutputs(model.calls[1]!.request)[0]!.text).toMatch(/^Invalid arguments for tool create_payment_intent/);
  });

  it('records agent, run id, tool and tool call id in the audit, and none of it reaches Stripe', async () => {
    const billing = await stack.credentialsFor('billing', { ...CHARGES, daily_usd_cap: 100 });
    const model = new ScriptedModel([
      [
        functionCall('create_payment_intent', { amount: 1200, currency: 'usd' }, { callId: 'call_fixed_run' }),
        functionCall('charge_as_collections', { amount: 300, currency: 'usd' }, { callId: 'call_renamed' }),
      ],
      [assistantMessage('done')],
    ]);
    const agent = new Agent({
      name: 'billing',
      model,
      tools: [
        toAgentsTool(createPaymentIntent, { ...billing, runId: 'run-42' }),
        toAgentsTool(createPaymentIntent, billing, { name: 'charge_as_collections', agent: 'collections' }),
      ],
    });
    const before = stack.upstream.requests.length;

    // Tracing is off under vitest; turn it on (exporting nowhere) so the run has a real trace id.
    setTraceProcessors([]);
    setTracingDisabled(false);
    const traceId = generateTraceId();
    try {
      await new Runner({ traceId }).run(agent, 'Charge $12 and $3.');
    } finally {
      setTracingDisabled(true);
    }

    const rows = await stack.admin.audit({ vaultKeyId: billing.keyId });
    const byCall = Object.fromEntries(rows.map((r) => [r.attribution.tool_call_id, r.attribution]));
    expect(byCall.call_fixed_run).toEqual({ agent: 'billing', run_id: 'run-42', tool: 'create_payment_intent', tool_call_id: 'call_fixed_run' });
    expect(byCall.call_renamed).toEqual({ agent: 'collections', run_id: traceId, tool: 'charge_as_collections', tool_call_id: 'call_renamed' });
    const sent = stack.upstream.requests.slice(before);
    expect(sent).toHaveLength(2);
    for (const request of sent) {
      expect(Object.keys(request.headers).filter((h) => h.startsWith('keyleash-'))).toEqual([]);
      expect(String(request.headers.authorization)).not.toContain('vk_');
    }
  });
});
