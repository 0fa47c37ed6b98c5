/**
 * The real stack for the OpenAI Agents adapter tests: the spec-driven fake Stripe upstream, a real
 * `keyleash serve` process in front of it, and the typed admin client (shared with the LangChain
 * suite, in test/support/agent-stack.ts). Models are scripted with
 * the SDK's own `ScriptedModel`, so the SDK's real run loop executes the real tools.
 */
import type { ModelRequest } from '@openai/agents';
import { ScriptedModel, modelResponder, type RecordedModelCall, type ScriptedModelResponse } from '@openai/agents/testing';
import type { FakeStripe } from '../upstreams/stripe/server.ts';
import { startAgentStack, type AgentStack } from '../support/agent-stack.ts';

export interface Stack extends AgentStack {
  /** a PaymentIntent that already succeeded (an earlier order), created straight on the upstream */
  paidOrder(amount: number, customer?: string): Promise<string>;
  /** a customer, created straight on the upstream */
  customer(name: string): Promise<string>;
}

const SECRET = 'sk_test_REALSECRET_openai_agents_0123456789';

export async function startStack(): Promise<Stack> {
  const stack = await startAgentStack({
    secret: SECRET,
    hosts: ['api.stripe.com', 'files.stripe.com', 'connect.stripe.com'],
    // a root Stripe key with no cap and no endpoints unless the test gives them
    keyPolicy: (_role, policy) => ({ vendor: 'stripe', daily_usd_cap: null, allowed_endpoints: [], expires_in: '1h', ...policy }),
  });
  // test set-up that is not under test: straight to the upstream, past the proxy
  const direct = async <T>(path: string, form: Record<string, string>): Promise<T> => {
    const response = await fetch(`${stack.upstream.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${SECRET}` }, body: new URLSearchParams(form) });
    return (await response.json()) as T;
  };
  return {
    ...stack,
    async paidOrder(amount, customer) {
      const intent = await direct<{ id: string; status: string }>('/v1/payment_intents', { amount: String(amount), currency: 'usd', confirm: 'true', payment_method: 'pm_card_visa', ...(customer ? { customer } : {}) });
      if (intent.status !== 'succeeded') throw new Error(`setup: the order did not succeed: ${JSON.stringify(intent)}`);
      return intent.id;
    },
    async customer(name) {
      return (await direct<{ id: string }>('/v1/customers', { name })).id;
    },
  };
}

/** Requests the upstream received on one path, as parsed forms. */
export function upstreamPosts(upstream: FakeStripe, path: string) {
  return upstream.requests.filter((r) => r.method === 'POST' && r.path === path);
}

/**
 * A model whose every answer is computed from the request it receives (stateless), so one agent
 * definition can serve concurrent runs and parallel sub-agent invocations deterministically.
 */
export function respondingModel(respond: (request: ModelRequest, call: RecordedModelCall) => ScriptedModelResponse | Promise<ScriptedModelResponse>, maxCalls = 64): ScriptedModel {
  return new ScriptedModel(Array.from({ length: maxCalls }, () => modelResponder((call) => respond(call.request, call))));
}

type InputItem = { type?: string; role?: string; content?: unknown; output?: unknown; callId?: string; name?: string };

function items(request: ModelRequest): InputItem[] {
  return typeof request.input === 'string' ? [{ role: 'user', content: request.input }] : (request.input as InputItem[]);
}

/** The text of the first user message of the run (the task given to the agent). */
export function userText(request: ModelRequest): string {
  const first = items(request).find((item) => item.role === 'user');
  const content = first?.content;
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((part: { text?: string }) => part.text ?? '').join('');
  return '';
}

/** Every tool output the model has been shown so far, as text, in order. */
export function toolOutputs(request: ModelRequest): { callId: string; name: string; text: string }[] {
  return items(request)
    .filter((item) => item.type === 'function_call_result')
    .map((item) => {
      const output = item.output as string | { type?: string; text?: string };
      return { callId: item.callId ?? '', name: item.name ?? '', text: typeof output === 'string' ? output : (output?.text ?? JSON.stringify(output)) };
    });
}

/** Resolves once `parties` callers have arrived: proves they were all in flight at the same time. */
export function barrier(parties: number): { arrive(): Promise<void>; arrived(): number } {
  let count = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return {
    arrive() {
      count += 1;
      if (count >= parties) open();
      return opened;
    },
    arrived: () => count,
  };
}

/** A promise with its resolver, for hooks a test waits on. */
export function deferred<T = void>(): { promise: Promise<T>; resolve(value: T): void; reject(error: unknown): void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
