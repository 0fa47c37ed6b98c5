import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, ToolCallError, run, type ModelRequest } from '@openai/agents';
import { ScriptedModel, assistantMessage, functionCall } from '@openai/agents/testing';
import { createPaymentIntent, type AgentCredentials } from '../../packages/client/src/index.ts';
import { credentialsFromContext, subAgentTool, toAgentsTool, type ChildKeyEvent, type KeyleashAgentContext } from '../../packages/openai-agents/src/index.ts';
import { barrier, deferred, respondingModel, startStack, toolOutputs, upstreamPosts, userText, type Stack } from './support.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const CHILD_POLICY = { daily_usd_cap: 200, expires_in: '30m', allowed_endpoints: ['POST /v1/payment_intents'] };

/** The installments sub-agent's model: charges the amount named in its task, then reports what the tool said. */
function installmentsModel(options: { beforeCharging?: (request: ModelRequest) => Promise<void> } = {}) {
  let calls = 0;
  return respondingModel(async (request) => {
    const shown = toolOutputs(request);
    if (shown.length > 0) return [assistantMessage(`installments: ${shown.map((s) => s.text).join(' | ')}`)];
    await options.beforeCharging?.(request);
    const amount = Number(/charge (\d+)/.exec(userText(request))?.[1]);
    return [functionCall('create_payment_intent', { amount, currency: 'usd', description: 'installment' }, { callId: `call_installment_${++calls}` })];
  });
}

function installmentsAgent(model: ScriptedModel) {
  return new Agent<KeyleashAgentContext>({
    name: 'installments',
    instructions: 'Collect the installment named in your task.',
    model,
    tools: [toAgentsTool(createPaymentIntent, credentialsFromContext)],
  });
}

function lifecycle() {
  const issued: ChildKeyEvent[] = [];
  const revoked: ChildKeyEvent[] = [];
  const allRevoked = (n: number) => {
    const done = deferred();
    const check = () => revoked.length >= n && done.resolve();
    return { done: done.promise, check };
  };
  let waiter: { done: Promise<void>; check: () => void } | undefined;
  return {
    issued,
    revoked,
    hooks: {
      onChildIssued: (event: ChildKeyEvent) => issued.push(event),
      onChildRevoked: (event: ChildKeyEvent) => {
        revoked.push(event);
        waiter?.check();
      },
    },
    untilRevoked(n: number) {
      waiter = allRevoked(n);
      waiter.check();
      return waiter.done;
    },
  };
}

function billingAgent(model: ScriptedModel, billing: AgentCredentials, subAgent: Agent<KeyleashAgentContext>, hooks: ReturnType<typeof lifecycle>['hooks'], childPolicy: object = CHILD_POLICY) {
  return new Agent({
    name: 'billing',
    instructions: 'Delegate installment collection.',
    model,
    tools: [
      toAgentsTool(createPaymentIntent, billing),
      subAgentTool(
        subAgent,
        { name: 'collect_installments', description: 'Collect overdue installments under a bounded child key.', role: 'installments', childPolicy, ...hooks },
        billing,
      ),
    ],
  });
}

describe('subAgentTool', () => {
  it('runs every invocation under a fresh child key of the caller, bounded by the child policy, and revokes it when the invocation answers', async () => {
    const billing = await stack.credentialsFor('billing', { daily_usd_cap: 500, allowed_endpoints: ['POST /v1/payment_intents'], metadata: { team: 'billing' } });
    const life = lifecycle();
    const subModel = installmentsModel();
    const model = new ScriptedModel([
      [functionCall('collect_installments', { input: 'charge 6000' }, { callId: 'call_a' })],
      [functionCall('collect_installments', { input: 'charge 7500' }, { callId: 'call_b' })],
      // $210 fits the parent's remaining $365 but not the child's $200 cap
      [functionCall('collect_installments', { input: 'charge 21000' }, { callId: 'call_c' })],
      [assistantMessage('done')],
    ]);

    await run(billingAgent(model, billing, installmentsAgent(subModel), life.hooks), 'Collect the overdue installments.');

    expect(life.issued.map((e) => e.toolCallId)).toEqual(['call_a', 'call_b', 'call_c']);
    expect(new Set(life.issued.map((e) => e.keyId)).size).toBe(3);
    expect(life.revoked.map((e) => e.keyId)).toEqual(life.issued.map((e) => e.keyId));
    for (const { keyId } of life.issued) {
      const child = await stack.admin.getKey(keyId);
      expect(child.parent_id).toBe(billing.keyId);
      expect(child.status).toBe('revoked');
      expect(child.policy.daily_usd_cap).toBe(200);
      expect(Date.parse(child.expires_at) - Date.parse(child.created_at)).toBe(30 * 60_000);
      expect(child.policy.metadata).toEqual({ team: 'billing', role: 'installments' });
    }
    // every sub-agent call went out under its own child key, attributed to the sub-agent's role
    const rows = await stack.admin.audit({ rootKeyId: billing.keyId });
    expect(rows.every((r) => r.vault_key_id !== billing.keyId)).toBe(true);
    expect(rows.map((r) => [life.issued.findIndex((e) => e.keyId === r.vault_key_id), r.decision, r.attribution.agent]).sort()).toEqual([
      [0, 'allowed', 'installments'],
      [1, 'allowed', 'installments'],
      [2, 'refused', 'installments'],
    ]);
    expect(toolOutputs(model.calls[3]!.request)[2]!.text).toMatch(/keyleash_daily_cap_reached/);
    expect((await stack.admin.getKey(billing.keyId)).spend!.today_usd).toBeCloseTo(135, 6);
  });

  it('revokes the child when the sub-agent throws, and the error fails the parent run', async () => {
    const billing = await stack.credentialsFor('billing', { daily_usd_cap: 500, allowed_endpoints: ['POST /v1/payment_intents'] });
    const life = lifecycle();
    const model = new ScriptedModel([[functionCall('collect_installments', { input: 'charge 6000' }, { callId: 'call_a' })], [assistantMessage('unreachable')]]);
    stack.upstream.inject({ method: 'POST', pathPrefix: '/v1/payment_intents', status: 500, headers: { 'stripe-should-retry': 'false' }, times: 5 });

    const error = await run(billingAgent(model, billing, installmentsAgent(installmentsModel()), life.hooks), 'Collect.').catch((e: unknown) => e);
    stack.upstream.reset();

    expect(error).toBeInstanceOf(ToolCallError);
    expect(life.issued).toHaveLength(1);
    expect(life.revoked).toEqual(life.issued);
    expect((await stack.admin.getKey(life.issued[0]!.keyId)).status).toBe('revoked');
  });

  it('revokes the child when the run is aborted while the sub-agent is working', async () => {
    const billing = await stack.credentialsFor('billing', { daily_usd_cap: 500, allowed_endpoints: ['POST /v1/payment_intents'] });
    const life = lifecycle();
    const working = deferred();
    const release = deferred();
    const subModel = installmentsModel({
      beforeCharging: async (request) => {
        working.resolve();
        await new Promise<void>((resolve, reject) => {
          request.signal?.addEventListener('abort', () => reject(request.signal!.reason), { once: true });
          void release.promise.then(resolve);
        });
      },
    });
    const model = new ScriptedModel([[functionCall('collect_installments', { input: 'charge 6000' }, { callId: 'call_a' })], [assistantMessage('unreachable')]]);
    const controller = new AbortController();
    const before = upstreamPosts(stack.upstream, '/v1/payment_intents').length;

    const running = run(billingAgent(model, billing, installmentsAgent(subModel), life.hooks), 'Collect.', { signal: controller.signal }).catch((e: unknown) => e);
    await working.promise;
    const childWhileWorking = await stack.admin.getKey(life.issued[0]!.keyId);
    controller.abort(new Error('user hung up'));
    const outcome = await running;
    await life.untilRevoked(1);
    release.resolve();

    expect(outcome).toBeInstanceOf(Error);
    expect(childWhileWorking.status).toBe('active');
    expect((await stack.admin.getKey(life.issued[0]!.keyId)).status).toBe('revoked');
    expect(upstreamPosts(stack.upstream, '/v1/payment_intents').length).toBe(before);
  });

  it("never lets parallel invocations' children together spend more than the parent has left", async () => {
    // parent: $250/day; it spends $60 itself, leaving $190. Two children of $200 each then try $150 at once.
    const billing = await stack.credentialsFor('billing', { daily_usd_cap: 250, allowed_endpoints: ['POST /v1/payment_intents'] });
    const life = lifecycle();
    const bothWorking = barrier(2);
    const subModel = installmentsModel({ beforeCharging: () => bothWorking.arrive() });
    const model = new ScriptedModel([
      [functionCall('create_payment_intent', { amount: 6000, currency: 'usd' }, { callId: 'call_own' })],
      [
        functionCall('collect_installments', { input: 'charge 15000 (first plan)' }, { callId: 'call_p1' }),
        functionCall('collect_installments', { input: 'charge 15000 (second plan)' }, { callId: 'call_p2' }),
      ],
      [assistantMessage('done')],
    ]);
    const before = upstreamPosts(stack.upstream, '/v1/payment_intents').length;

    await run(billingAgent(model, billing, installmentsAgent(subModel), life.hooks), 'Collect both plans.');

    // both children existed and both sub-agents were about to charge before either did
    expect(bothWorking.arrived()).toBe(2);
    expect(life.issued.map((e) => e.toolCallId).sort()).toEqual(['call_p1', 'call_p2']);
    const sent = upstreamPosts(stack.upstream, '/v1/payment_intents').slice(before);
    expect(sent.map((r) => Number(r.form.amount)).sort((a, b) => a - b)).toEqual([6000, 15000]);
    const parent = await stack.admin.getKey(billing.keyId);
    expect(parent.spend!.today_usd).toBeCloseTo(210, 6);
    expect(parent.spend!.today_usd).toBeLessThanOrEqual(250);
    const childRows = (await stack.admin.audit({ rootKeyId: billing.keyId })).filter((r) => r.vault_key_id !== billing.keyId);
    expect(childRows.map((r) => r.decision).sort()).toEqual(['allowed', 'refused']);
    expect(childRows.find((r) => r.decision === 'refused')!.reason).toBe('keyleash_daily_cap_reached');
    // the refused sub-agent read the refusal, and its answer reached the parent's model
    const answers = toolOutputs(model.calls[2]!.request).filter((o) => o.name === 'collect_installments');
    expect(answers).toHaveLength(2);
    expect(answers.filter((a) => /refused by keyleash \(keyleash_daily_cap_reached\)/.test(a.text))).toHaveLength(1);
    await life.untilRevoked(2);
    for (const { keyId } of life.issued) expect((await stack.admin.getKey(keyId)).status).toBe('revoked');
  });

  it('tells the parent model, without running the sub-agent, when the proxy will not mint a child that wide', async () => {
    const billing = await stack.credentialsFor('billing', { daily_usd_cap: 100, allowed_endpoints: ['POST /v1/payment_intents'] });
    const life = lifecycle();
    const subModel = installmentsModel();
    const model = new ScriptedModel([[functionCall('collect_installments', { input: 'charge 6000' }, { callId: 'call_a' })], [assistantMessage('could not delegate')]]);

    await run(billingAgent(model, billing, installmentsAgent(subModel), life.hooks), 'Collect.');

    expect(toolOutputs(model.calls[1]!.request)[0]!.text).toMatch(
      /^refused by keyleash \(child_wider_than_parent\) in tool collect_installments: could not give the sub-agent a child key: .*daily_usd_cap: \$200\.00 is above the parent's \$100\.00/,
    );
    expect(life.issued).toEqual([]);
    expect(subModel.calls).toEqual([]);
  });
});
