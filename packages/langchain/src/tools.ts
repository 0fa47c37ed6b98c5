import { runTool, toolOutputText, type KeyleashTool } from '@keyleash/client';
import { tool as langChainTool, type DynamicStructuredTool, type ToolRuntime } from '@langchain/core/tools';
import { resolveCredentials, toolCallIdOf, type CredentialsSource } from './credentials.ts';
import { refusalOutcome, type OnRefusal } from './refusals.ts';

export interface KeyleashToolOptions {
  /** a keyleash refusal becomes a tool result the model reads ('return', default) or a KeyleashRefusalError ('throw') */
  onRefusal?: OnRefusal;
}

/**
 * A framework-neutral keyleash tool as a LangChain tool (`@langchain/core/tools`, zod schema),
 * bound to one agent's credentials. Each call builds that agent's vendor clients and tags every
 * proxied request with the agent's role, its run id, the tool name and LangChain's tool call id,
 * so the audit row says which agent, in which run, in which tool call.
 *
 * A refusal from the proxy (cap reached, endpoint not allowed, key revoked) is returned as text the
 * model reads ("refused by keyleash (keyleash_daily_cap_reached) …: Do not retry."); any other
 * error is thrown, as it is a bug or an outage rather than a policy decision.
 */
export function toLangChainTool(tool: KeyleashTool<any, any>, credentials: CredentialsSource, options: KeyleashToolOptions = {}): DynamicStructuredTool {
  const run = async (input: unknown, runtime: ToolRuntime): Promise<string> => {
    const toolCallId = toolCallIdOf(runtime);
    const outcome = await runTool(tool, resolveCredentials(credentials, runtime), input, toolCallId ? { toolCallId } : {});
    return outcome.ok ? toolOutputText(outcome.output) : refusalOutcome(tool.name, outcome.refusal, options.onRefusal);
  };
  // The neutral input is any zod schema; tool()'s overloads want to know its shape statically.
  return langChainTool(run as never, { name: tool.name, description: tool.description, schema: tool.input as never }) as unknown as DynamicStructuredTool;
}

/** Several neutral tools bound to the same agent's credentials. */
export function toLangChainTools(tools: readonly KeyleashTool<any, any>[], credentials: CredentialsSource, options: KeyleashToolOptions = {}): DynamicStructuredTool[] {
  return tools.map((tool) => toLangChainTool(tool, credentials, options));
}
