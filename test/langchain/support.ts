/**
 * The real stack for the LangChain adapter tests: the spec-driven fake Stripe upstream, a real
 * `keyleash serve` process in front of it and the typed admin client (shared with the OpenAI
 * Agents suite, in test/support/agent-stack.ts), plus the scripted OpenAI-compatible model
 * server. Agents talk to the model server through the real `openai` package (a minimal LangChain
 * chat model, the one the example uses), so LangChain's real agent loop runs the real tools
 * through the real proxy.
 */
import OpenAI from 'openai';
import type { AuditRow } from '../../packages/client/src/index.ts';
import { OpenAIChatModel } from '../../examples/group-chat-langchain/src/openai-chat-model.ts';
import { startFakeOpenAI, type FakeOpenAI, type Script, type ToolResult } from '../upstreams/openai/server.ts';
import type { RecordedRequest } from '../upstreams/stripe/server.ts';
import { startAgentStack, type AgentStack } from '../support/agent-stack.ts';

export interface Stack extends AgentStack {
  /** a fresh scripted model server (closed with the stack) */
  models(script: Script): Promise<FakeOpenAI>;
  /** PaymentIntent creations that reached the upstream */
  chargesUpstream(): RecordedRequest[];
  /** audit rows of one key, oldest first */
  auditOf(keyId: string): Promise<AuditRow[]>;
}

export async function startStack(): Promise<Stack> {
  const stack = await startAgentStack({
    secret: 'sk_test_REALSECRET_langchain_0123456789',
    hosts: ['api.stripe.com'],
    // a root Stripe key for PaymentIntent creates, $100 a day, tagged with the agent's role
    keyPolicy: (role, policy) => ({
      vendor: 'stripe',
      daily_usd_cap: 100,
      allowed_endpoints: ['POST /v1/payment_intents'],
      expires_in: '1h',
      ...policy,
      metadata: { role, ...policy.metadata },
    }),
  });
  const servers: FakeOpenAI[] = [];
  return {
    ...stack,
    async models(script) {
      const server = await startFakeOpenAI({ script, apiKey: 'sk-fake-openai' });
      servers.push(server);
      return server;
    },
    chargesUpstream: () => stack.upstream.requests.filter((r) => r.method === 'POST' && r.path === '/v1/payment_intents'),
    async auditOf(keyId) {
      return (await stack.admin.audit({ vaultKeyId: keyId })).sort((a, b) => a.seq - b.seq);
    },
    async close() {
      await Promise.all(servers.map((s) => s.close()));
      await stack.close();
    },
  };
}

/** a LangChain chat model answering from one model name's script on the fake server */
export function scriptedModel(server: FakeOpenAI, model: string, options: { streaming?: boolean } = {}): OpenAIChatModel {
  return new OpenAIChatModel({ model, client: new OpenAI({ apiKey: 'sk-fake-openai', baseURL: server.url, maxRetries: 0 }), ...options });
}

/** the first PaymentIntent id in some tool results (what a model would read off a tool's answer) */
export function paymentIntentIn(results: readonly ToolResult[] | string): string {
  const text = typeof results === 'string' ? results : results.map((r) => r.output).join('\n');
  const match = /pi_[A-Za-z0-9]+/.exec(text);
  if (!match) throw new Error(`no PaymentIntent id in: ${text}`);
  return match[0];
}
