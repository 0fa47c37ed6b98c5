import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, ToolCallError, run, type RunContext } from '@openai/agents';
import { assistantMessage, functionCall } from '@openai/agents/testing';
import { createPaymentIntent, defineTool } from '../../packages/client/src/index.ts';
import { credentialsFromContext, toAgentsTool, type KeyleashAgentContext } from '../../packages/openai-agents/src/index.ts';
import { barrier, respondingModel, startStack, toolOutputs, upstreamPosts, userText, type Stack } from './support.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

interface SessionContext extends KeyleashAgentContext {
  customerId: string;
}

/** createPaymentIntent, recording which vault key each call ran under and for which customer */
function recordingCharge(seen: { customer: string; vaultKey: string }[]) {
  return defineTool({
    ...createPaymentIntent,
    async run(input, context) {
      seen.push({ customer: input.customer!, vaultKey: context.credentials.vaultKey });
      return createPaymentIntent.run(input, context);
    },
  });
}

/** One model for every tenant, like a real one: buys every "$N" in the message at once, then reports. */
function storeModel(beforeBuying: () => Promise<void>) {
  let calls = 0;
  return respondingModel(async (request) => {
    const shown = toolOutputs(request);
    if (shown.length > 0) return [assistantMessage(shown.map((o) => o.text).join('\n'))];
    await beforeBuying();
    return [...userText(request).matchAll(/\$(\d+)/g)].map((m) => functionCall('charge', { amount: Number(m[1]) * 100, currency: 'usd' }, { callId: `call_${++calls}` }));
  });
}

describe('multi-tenant: one agent definition, one key per customer session from the run context', () => {
  it("runs two customers' sessions concurrently without either ever using the other's key, and each customer's audit spend is what Stripe received for that customer", async () => {
    const seen: { customer: string; vaultKey: string }[] = [];
    const bothInFlight = barrier(2);
    const model = storeModel(() => bothInFlight.arrive());
    const agent = new Agent<SessionContext>({
      name: 'account_assistant',
      model,
      tools: [
        toAgentsTool(recordingCharge(seen), credentialsFromContext<SessionContext>, {
          name: 'charge',
          inputFromContext: { customer: (rc: RunContext<SessionContext>) => rc.context.customerId },
        }),
      ],
    });
    const tenants = await Promise.all(
      [
        { name: 'Acme', cap: 25, message: 'Add the $19 reports add-on and the $15 seat pack.' },
        { name: 'Globex', cap: 250, message: 'Add seats for $45 and analytics for $99.' },
      ].map(async (tenant) => {
        const customerId = await stack.customer(tenant.name);
        const sessionId = `sess-${tenant.name.toLowerCase()}`;
        const credentials = await stack.credentialsFor(
          'account_assistant',
          { daily_usd_cap: tenant.cap, allowed_endpoints: ['POST /v1/payment_intents'], expires_in: '30m', metadata: { customer_id: customerId, session_id: sessionId } },
          { runId: sessionId },
        );
        return { ...tenant, customerId, sessionId, credentials };
      }),
    );

    await Promise.all(tenants.map((t) => run(agent, t.message, { context: { customerId: t.customerId, credentials: t.credentials } })));

    expect(bothInFlight.arrived()).toBe(2);
    // the model is never asked which customer to charge
    const schema = model.calls[0]!.request.tools[0] as { parameters?: { properties?: Record<string, unknown> } };
    expect(Object.keys(schema.parameters?.properties ?? {})).toContain('amount');
    expect(Object.keys(schema.parameters?.properties ?? {})).not.toContain('customer');
    expect(seen).toHaveLength(4);
    for (const tenant of tenants) {
      expect(seen.filter((s) => s.customer === tenant.customerId).map((s) => s.vaultKey)).toEqual([tenant.credentials.vaultKey, tenant.credentials.vaultKey]);

      // one query per customer
      const rows = await stack.admin.audit({ metadata: { customer_id: tenant.customerId } });
      expect(rows).toHaveLength(2);
      expect(new Set(rows.map((r) => r.vault_key_id))).toEqual(new Set([tenant.credentials.keyId]));
      expect(new Set(rows.map((r) => r.attribution.run_id))).toEqual(new Set([tenant.sessionId]));
      const auditSpendCents = Math.round(rows.filter((r) => r.decision === 'allowed').reduce((sum, r) => sum + r.settled_usd, 0) * 100);
      const upstreamCents = upstreamPosts(stack.upstream, '/v1/payment_intents')
        .filter((r) => r.form.customer === tenant.customerId)
        .reduce((sum, r) => sum + Number(r.form.amount), 0);
      expect(auditSpendCents).toBe(upstreamCents);
      expect(auditSpendCents).toBeLessThanOrEqual(tenant.cap * 100);
    }
    const [acme, globex] = tenants;
    expect((await stack.admin.audit({ metadata: { customer_id: acme!.customerId } })).map((r) => r.decision).sort()).toEqual(['allowed', 'refused']);
    expect((await stack.admin.audit({ metadata: { customer_id: globex!.customerId } })).map((r) => r.decision)).toEqual(['allowed', 'allowed']);
  });

  it('fails a run started without credentials in its context rather than calling out under any other key', async () => {
    const agent = new Agent<Partial<SessionContext>>({
      name: 'account_assistant',
      model: storeModel(async () => {}),
      tools: [toAgentsTool(createPaymentIntent, credentialsFromContext<Partial<SessionContext>>, { name: 'charge' })],
    });
    const before = stack.upstream.requests.length;

    const error = await run(agent, 'Buy the $5 add-on.', { context: {} }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ToolCallError);
    expect(String((error as ToolCallError).error)).toMatch(/no keyleash credentials in the run context/);
    expect(stack.upstream.requests.length).toBe(before);
  });
});
