import { ModelBehaviorError, tool, type FunctionTool, type RunContext } from '@openai/agents';
import { KeyleashRefusalError, keyleashRefusalOf, refusalToolResult, runTool, toolOutputText, type KeyleashTool } from '@keyleash/client';
import type { z } from 'zod';
import { resolveCredentials, type CredentialsSource } from './credentials-source.ts';

/**
 * A keyleash refusal raised out of a tool (the framework-neutral one from `@keyleash/client`), so
 * the SDK's error path (tracing marks the tool span failed) carries it to `errorFunction`, which
 * shows it to the model; or, with `refusals: 'throw'`, out of `run()` as the `error` of a
 * `ToolCallError`.
 */
export { KeyleashRefusalError };

export interface ToAgentsToolOptions<TContext = unknown, Input extends z.ZodObject = z.ZodObject> {
  /** the tool name the model sees (unique per agent); default the neutral tool's name */
  name?: string;
  description?: string;
  /** recorded as `agent` in the audit; default the credentials' role */
  agent?: string;
  /**
   * 'tool-output' (default): a refusal becomes the tool's output, so the model reads
   * "refused by keyleash (code) … Do not retry". 'throw': `run()` rejects with a `ToolCallError`
   * whose `error` is a `KeyleashRefusalError`.
   */
  refusals?: 'tool-output' | 'throw';
  /**
   * Input fields the model does not choose: hidden from the tool's schema and filled from the run
   * context at every call, e.g. `{ customer: (rc) => rc.context.customerId }` so that an agent
   * serving many tenants cannot act for another tenant than its run's.
   */
  inputFromContext?: { [Field in keyof z.infer<Input>]?: (runContext: RunContext<TContext>) => z.infer<Input>[Field] };
}

/**
 * The error handling every keyleash tool shares: a refusal is text for the model; a model mistake
 * in the arguments is text for the model too (as the SDK does by default, so it can correct
 * itself); anything else (an outage, a bug, a vendor error) stays an error and fails the run.
 */
export function keyleashToolErrorFunction(toolName: string) {
  return (_runContext: RunContext<any>, error: unknown): string => {
    if (error instanceof KeyleashRefusalError) return error.message;
    const refusal = keyleashRefusalOf(error);
    if (refusal) return refusalToolResult(toolName, refusal);
    if (error instanceof ModelBehaviorError) return `Invalid arguments for tool ${toolName}: ${error.message}. Fix the arguments and call it again.`;
    throw error;
  };
}

/**
 * A neutral keyleash tool as an `@openai/agents` `tool()`, calling out under one agent's vault
 * key (fixed) or under the key found in each run's context (one agent definition, many tenants).
 * Every proxied call carries the agent, run (or trace) id, tool name and tool call id.
 */
export function toAgentsTool<TContext = unknown, Input extends z.ZodObject = z.ZodObject, Output = unknown>(
  neutral: KeyleashTool<Input, Output>,
  credentials: CredentialsSource<TContext>,
  options: ToAgentsToolOptions<TContext, Input> = {},
): FunctionTool<TContext, z.ZodObject, string> {
  const name = options.name ?? neutral.name;
  const pinned = Object.entries(options.inputFromContext ?? {}) as [string, (runContext: RunContext<TContext>) => unknown][];
  const modelInput: z.ZodObject = pinned.length ? neutral.input.omit(Object.fromEntries(pinned.map(([field]) => [field, true])) as never) : neutral.input;
  return tool<z.ZodObject, TContext, string>({
    name,
    description: options.description ?? neutral.description,
    parameters: modelInput,
    errorFunction: options.refusals === 'throw' ? null : keyleashToolErrorFunction(name),
    async execute(input, runContext, details) {
      const resolved = resolveCredentials(credentials, runContext);
      const asAgent = options.agent ? { ...resolved, role: options.agent } : resolved;
      let full = input as z.infer<Input>;
      if (pinned.length) {
        if (!runContext) throw new Error(`${name} fills input from the run context, but was called outside a run`);
        full = neutral.input.parse({ ...input, ...Object.fromEntries(pinned.map(([field, read]) => [field, read(runContext)])) });
      }
      const callId = details?.toolCall?.callId;
      const outcome = await runTool({ ...neutral, name }, asAgent, full, callId ? { toolCallId: callId } : {});
      if (!outcome.ok) throw new KeyleashRefusalError(name, outcome.refusal);
      return toolOutputText(outcome.output);
    },
  });
}

/** Several neutral tools bound to the same credentials source. */
export function toAgentsTools<TContext = unknown>(
  tools: readonly KeyleashTool<z.ZodObject, unknown>[],
  credentials: CredentialsSource<TContext>,
  options: Omit<ToAgentsToolOptions<TContext>, 'name' | 'description' | 'inputFromContext'> = {},
): FunctionTool<TContext, z.ZodObject, string>[] {
  return tools.map((neutral) => toAgentsTool<TContext, z.ZodObject, unknown>(neutral, credentials, options));
}
