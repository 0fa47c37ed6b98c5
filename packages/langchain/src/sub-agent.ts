import {
  KeyleashApiError,
  keyleashRefusalOf,
  withChildKey,
  type AgentCredentials,
  type ChildKeyScope,
  type ChildPolicyInput,
  type KeyleashRefusal,
} from '@keyleash/client';
import { AsyncLocalStorageProviderSingleton } from '@langchain/core/singletons';
import { tool as langChainTool, type DynamicStructuredTool, type ToolRuntime } from '@langchain/core/tools';
import { z } from 'zod';
import { resolveCredentials, type CredentialsSource } from './credentials.ts';
import { refusalOutcome, type OnRefusal } from './refusals.ts';

/** The child key a sub-agent runs under: its role (recorded as `agent` and as `metadata.role`) and a policy at most as wide as its parent's. */
export interface SubAgentKey {
  role: string;
  /** omitted fields are inherited from the parent; the proxy refuses a child wider than its parent */
  policy: ChildPolicyInput;
  /** default: the parent's run id */
  runId?: string;
}

export interface SubAgentScope extends ChildKeyScope {
  credentials: AgentCredentials;
}

/** The abort signal of the LangChain runnable we are inside (a tool call, a graph node), if any. */
function currentSignal(): AbortSignal | undefined {
  const config = AsyncLocalStorageProviderSingleton.getRunnableConfig() as { signal?: AbortSignal } | undefined;
  return config?.signal;
}

/**
 * Runs a nested agent under a child key freshly derived from the parent's (with a tighter policy),
 * and revokes the child when the body ends: normally, by throwing, or by abort. Whatever the
 * sub-agent spends also counts against the parent's caps.
 *
 * ```ts
 * const answer = await runSubAgent(billing, { role: 'fees', policy: { daily_usd_cap: 20 } }, (child, { signal }) =>
 *   createAgent({ model, tools: toLangChainTools([createPaymentIntent], child), name: 'fees' }).invoke({ messages }, { signal }));
 * ```
 *
 * Build the sub-agent's tools from `child` (as above). If its tools read credentials from the
 * invocation context instead, pass `{ context: { keyleash: child } }` to the nested `invoke`: a
 * nested invoke inherits the caller's context, which holds the parent's key.
 *
 * Called inside a LangChain tool or graph node without `signal`, it follows that run's abort signal.
 */
export async function runSubAgent<T>(
  parent: AgentCredentials,
  child: SubAgentKey,
  body: (credentials: AgentCredentials, scope: ChildKeyScope) => Promise<T>,
  options: { signal?: AbortSignal } = {},
): Promise<T> {
  const signal = options.signal ?? currentSignal();
  return withChildKey(parent, child, body, signal ? { signal } : {});
}

/** The text of an agent's answer: a string as is, the last message of `{ messages }`, anything else as JSON. */
export function agentResultText(result: unknown): string {
  if (typeof result === 'string') return result;
  const messages = (result as { messages?: unknown } | null)?.messages;
  if (Array.isArray(messages) && messages.length > 0) {
    const last = messages[messages.length - 1] as { text?: unknown; content?: unknown };
    if (typeof last.text === 'string') return last.text;
    if (typeof last.content === 'string') return last.content;
    return JSON.stringify(last.content);
  }
  return JSON.stringify(result);
}

/** A refusal to mint the child (the parent is revoked, expired, or the child would be wider than it). */
function childRefusal(role: string, error: unknown): KeyleashRefusal | undefined {
  if (!(error instanceof KeyleashApiError) || (error.status !== 401 && error.status !== 403)) return undefined;
  return { code: 'keyleash_child_key_refused', message: `Refused: keyleash would not derive a child key for the ${role} sub-agent (${error.message}). Do not retry.`, status: error.status };
}

const DEFAULT_INPUT = z.object({ task: z.string().describe('what the sub-agent should do, in plain words') });

export interface SubAgentToolOptions<Input extends z.ZodObject<any> = typeof DEFAULT_INPUT> {
  name: string;
  description: string;
  /** default `{ task: string }` */
  schema?: Input;
  /** the calling agent's credentials: the child is derived from these */
  parent: CredentialsSource;
  /** the child key, fixed or chosen from the call's input */
  child: SubAgentKey | ((input: z.infer<Input>) => SubAgentKey);
  /** runs the nested agent (createAgent, a LangGraph graph, …) under the child; its answer goes back to the model (see agentResultText) */
  run: (input: z.infer<Input>, scope: SubAgentScope & { runtime: ToolRuntime }) => Promise<unknown>;
  /** a refusal (of the child key itself, or one the nested run throws) becomes a result the model reads ('return', default) or a KeyleashRefusalError */
  onRefusal?: OnRefusal;
}

/**
 * Agent-as-tool under a child key: when the model calls it, a child key is derived from the
 * caller's, the nested agent runs with it, and the child is revoked when the nested run ends
 * (also on throw, and on abort of the outer run).
 */
export function subAgentTool<Input extends z.ZodObject<any> = typeof DEFAULT_INPUT>(options: SubAgentToolOptions<Input>): DynamicStructuredTool {
  const run = async (input: z.infer<Input>, runtime: ToolRuntime): Promise<string> => {
    const parent = resolveCredentials(options.parent, runtime);
    const child = typeof options.child === 'function' ? options.child(input) : options.child;
    try {
      const result = await withChildKey(
        parent,
        child,
        (credentials, scope) => options.run(input, { ...scope, credentials, runtime }),
        runtime.signal ? { signal: runtime.signal } : {},
      );
      return agentResultText(result);
    } catch (error) {
      const refusal = keyleashRefusalOf(error) ?? childRefusal(child.role, error);
      if (!refusal) throw error;
      return refusalOutcome(options.name, refusal, options.onRefusal);
    }
  };
  return langChainTool(run as never, { name: options.name, description: options.description, schema: (options.schema ?? DEFAULT_INPUT) as never }) as unknown as DynamicStructuredTool;
}
