import { getCurrentTrace, NoopTrace, type RunContext } from '@openai/agents';
import type { AgentCredentials } from '@keyleash/client';

/**
 * The run context shape the ready-made resolver reads: `run(agent, input, { context: { credentials } })`.
 * Any other shape works too, with your own resolver.
 */
export interface KeyleashAgentContext {
  credentials: AgentCredentials;
}

/**
 * Where a tool finds its agent's credentials: fixed when the tool is built (one agent, one key),
 * or read from the run context at every call (one agent definition, one key per run / tenant).
 */
export type CredentialsSource<TContext = unknown> = AgentCredentials | ((runContext: RunContext<TContext>) => AgentCredentials);

/** Reads `runContext.context.credentials`; fails loudly when the run was started without them. */
export function credentialsFromContext<TContext>(runContext: RunContext<TContext>): AgentCredentials {
  const credentials = (runContext.context as Partial<KeyleashAgentContext> | undefined)?.credentials;
  if (!credentials?.vaultKey) {
    throw new Error('no keyleash credentials in the run context: start the run with run(agent, input, { context: { credentials: { role, vaultKey } } })');
  }
  return credentials;
}

/**
 * Credentials for one call, with the run id filled from the current trace when the credentials
 * carry none (so audit rows of one run can be found together even without an explicit run id).
 */
export function resolveCredentials<TContext>(source: CredentialsSource<TContext>, runContext: RunContext<TContext> | undefined): AgentCredentials {
  let credentials: AgentCredentials;
  if (typeof source === 'function') {
    if (!runContext) throw new Error('this keyleash tool reads its credentials from the run context, but was called outside a run');
    credentials = source(runContext);
  } else {
    credentials = source;
  }
  if (credentials.runId) return credentials;
  const traceId = currentTraceId();
  return traceId ? { ...credentials, runId: traceId } : credentials;
}

function currentTraceId(): string | undefined {
  const trace = getCurrentTrace();
  // With tracing disabled the SDK still installs a NoopTrace whose id is the constant "no-op".
  if (!trace || trace instanceof NoopTrace) return undefined;
  return trace.traceId;
}
