import { run, tool, type Agent, type FunctionTool, type RunContext, type Runner } from '@openai/agents';
import { KeyleashApiError, refusalToolResult, toolOutputText, withChildKey, type AgentCredentials, type ChildPolicyInput } from '@keyleash/client';
import { z } from 'zod';
import { keyleashToolErrorFunction } from './agents-tool.ts';
import { resolveCredentials, type CredentialsSource, type KeyleashAgentContext } from './credentials-source.ts';

const SubAgentInput = z.object({ input: z.string().describe('The task for the sub-agent, self-contained: it sees nothing else of this conversation.') });

/** What a child key's life looked like, for logs and tests. */
export interface ChildKeyEvent {
  tool: string;
  role: string;
  toolCallId: string | undefined;
  /** the child's public key id (never the secret) */
  keyId: string;
}

export interface SubAgentToolOptions<TContext, TChildContext> {
  /** the tool name the parent's model sees */
  name: string;
  description: string;
  /** the sub-agent's role: its child key's `metadata.role` and the `agent` of its audit rows */
  role: string;
  /**
   * The child's policy, never wider than the parent's (the proxy checks): e.g.
   * `{ daily_usd_cap: 200, expires_in: '30m' }`. Omitted fields are inherited. A function sees
   * the task, to size the bound per invocation.
   */
  childPolicy: ChildPolicyInput | ((task: string, runContext: RunContext<TContext>) => ChildPolicyInput);
  /**
   * The sub-agent's run context, built from its child credentials. Default `{ credentials }`:
   * nothing of the parent's context (and so never the parent's key) reaches the sub-agent.
   */
  childContext?: (credentials: AgentCredentials, parent: RunContext<TContext>) => TChildContext;
  /** runs the sub-agent; default the SDK's default runner */
  runner?: Runner;
  maxTurns?: number;
  onChildIssued?: (event: ChildKeyEvent) => void;
  /** called once the child is revoked, whichever way the invocation ended */
  onChildRevoked?: (event: ChildKeyEvent) => void;
}

/**
 * A sub-agent as a tool of its parent, each invocation under a fresh child key: derived from the
 * caller's key with `childPolicy`, given to the sub-agent through its own run context, revoked
 * when the invocation ends (answer, error or abort). `agent.asTool()` cannot do this: it hands the
 * sub-agent the parent's context, so the parent's key (SDK-FACTS §3.4).
 *
 * The child's spend also counts against the parent's caps, atomically, so parallel invocations
 * together can never spend more than the parent has left.
 */
export function subAgentTool<TContext = unknown, TChildContext = KeyleashAgentContext>(
  /**
   * the sub-agent, or a factory building it per invocation from the child credentials: use the
   * factory to give its model the child key too (`model: keyleashModel(child, 'gpt-4.1-mini')`),
   * so its tokens and its tools' calls share the child's budget and count against the parent's
   */
  subAgent: Agent<TChildContext, any> | ((child: AgentCredentials) => Agent<TChildContext, any>),
  options: SubAgentToolOptions<TContext, TChildContext>,
  parentCredentials: CredentialsSource<TContext>,
): FunctionTool<TContext, typeof SubAgentInput, string> {
  const buildContext = options.childContext ?? ((credentials: AgentCredentials) => ({ credentials }) as TChildContext);
  return tool<typeof SubAgentInput, TContext, string>({
    name: options.name,
    description: options.description,
    parameters: SubAgentInput,
    errorFunction: keyleashToolErrorFunction(options.name),
    async execute({ input }, runContext, details) {
      if (!runContext) throw new Error(`${options.name} must run inside an agent run`);
      const parent = resolveCredentials(parentCredentials, runContext);
      const policy = typeof options.childPolicy === 'function' ? options.childPolicy(input, runContext) : options.childPolicy;
      const toolCallId = details?.toolCall?.callId;
      const signal = details?.signal;
      let issued: ChildKeyEvent | undefined;
      let bodyFailure: { error: unknown } | undefined;
      let revoked = false;
      try {
        const output = await withChildKey(
          parent,
          { role: options.role, policy },
          async (child, scope) => {
            issued = { tool: options.name, role: options.role, toolCallId, keyId: scope.keyId };
            options.onChildIssued?.(issued);
            // scope.signal aborts with the caller's signal, so the nested run stops with its parent
            const runOptions = { context: buildContext(child, runContext), signal: scope.signal, ...(options.maxTurns ? { maxTurns: options.maxTurns } : {}) };
            try {
              const agent = typeof subAgent === 'function' ? subAgent(child) : subAgent;
              const result = options.runner ? await options.runner.run(agent, input, runOptions) : await run(agent, input, runOptions);
              return toolOutputText(result.finalOutput ?? '');
            } catch (error) {
              bodyFailure = { error };
              throw error;
            }
          },
          signal ? { signal } : {},
        );
        revoked = true;
        return output;
      } catch (error) {
        // withChildKey revokes in a `finally`: an error that is neither the sub-agent's nor the
        // abort's came from the revoke itself, so the child may still be alive.
        revoked = issued !== undefined && ((bodyFailure !== undefined && bodyFailure.error === error) || (signal?.aborted === true && error === signal.reason));
        // The proxy would not mint the child (parent revoked or expired, policy wider than the
        // parent's): a policy decision the parent's model must read, not an outage.
        if (!issued && error instanceof KeyleashApiError && error.status >= 400 && error.status < 500) {
          return refusalToolResult(options.name, { code: error.code, message: `could not give the sub-agent a child key: ${error.message}.`, status: error.status });
        }
        throw error;
      } finally {
        if (issued && revoked) options.onChildRevoked?.(issued);
      }
    },
  });
}
