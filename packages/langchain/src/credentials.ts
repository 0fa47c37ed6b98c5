import type { AgentCredentials } from '@keyleash/client';
import type { ToolRuntime } from '@langchain/core/tools';

/**
 * Whose key a tool call goes out under: fixed credentials (the usual case: one agent, one key,
 * bound when the agent is built), or a function of the LangChain tool runtime (to pick the key per
 * invocation, e.g. from `runtime.context`).
 */
export type CredentialsSource = AgentCredentials | ((runtime: ToolRuntime) => AgentCredentials);

function isCredentials(value: unknown): value is AgentCredentials {
  return typeof value === 'object' && value !== null && typeof (value as AgentCredentials).vaultKey === 'string' && typeof (value as AgentCredentials).role === 'string';
}

export function resolveCredentials(source: CredentialsSource, runtime: ToolRuntime): AgentCredentials {
  const credentials = typeof source === 'function' ? source(runtime) : source;
  if (!isCredentials(credentials)) throw new Error('keyleash: no agent credentials for this tool call (need { role, vaultKey })');
  return credentials;
}

/**
 * Credentials read from the invocation's context: `agent.invoke(input, { context: { keyleash: credentials } })`,
 * or one entry per agent, `{ keyleash: { billing: …, refunds: … } }`, picked by the running agent's
 * name (`runtime.metadata.lc_agent_name`, the `name` given to `createAgent`).
 *
 * Careful with nested agents: a nested `invoke()` inherits the caller's context unless it is given
 * one, so a sub-agent must be invoked with `{ context: { keyleash: childCredentials } }` or it runs
 * under the parent's key. Credentials bound at construction (`toLangChainTool(tool, credentials)`)
 * have no such pitfall.
 */
export function credentialsFromContext(field = 'keyleash'): (runtime: ToolRuntime) => AgentCredentials {
  return (runtime) => {
    const value = (runtime.context as Record<string, unknown> | undefined)?.[field];
    if (isCredentials(value)) return value;
    const agent = runtime.metadata?.lc_agent_name;
    const perAgent = typeof agent === 'string' && typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[agent] : undefined;
    if (isCredentials(perAgent)) return perAgent;
    throw new Error(`keyleash: the invocation context has no credentials at "${field}"${typeof agent === 'string' ? ` (nor "${field}.${agent}")` : ''}`);
  };
}

/** The id of the tool call being run: set by LangChain's ToolNode, or by invoking a tool with a ToolCall. */
export function toolCallIdOf(runtime: ToolRuntime | undefined): string | undefined {
  const id = runtime?.toolCallId ?? runtime?.toolCall?.id;
  return typeof id === 'string' && id.length > 0 ? id : undefined;
}
