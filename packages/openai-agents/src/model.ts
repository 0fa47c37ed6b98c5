import { OpenAIChatCompletionsModel, OpenAIResponsesModel, type Model } from '@openai/agents';
import { openaiFor, type AgentCredentials } from '@keyleash/client';
import type OpenAI from 'openai';

export interface KeyleashModelOptions {
  /** which OpenAI API the agent talks: 'responses' (the SDK's default) or 'chat_completions' */
  api?: 'responses' | 'chat_completions';
  /** any other openai client option (maxRetries, timeout, …) */
  openai?: ConstructorParameters<typeof OpenAI>[0];
}

/**
 * An agent's model, called through keyleash under the agent's own vault key: its tokens count
 * against the same key tree (and caps) as its tools' Stripe and Twilio calls, and its audit rows
 * carry the agent's role. Give a sub-agent the child credentials `subAgentTool` derives (pass it an
 * agent factory) and its model and tools share the child's budget.
 */
export function keyleashModel(credentials: AgentCredentials, model: string, options: KeyleashModelOptions = {}): Model {
  const client = openaiFor({
    vaultKey: credentials.vaultKey,
    ...(credentials.proxyUrl ? { proxyUrl: credentials.proxyUrl } : {}),
    attribution: { agent: credentials.role, ...(credentials.runId ? { runId: credentials.runId } : {}) },
    ...(options.openai ? { openai: options.openai } : {}),
  });
  return options.api === 'chat_completions' ? new OpenAIChatCompletionsModel(client, model) : new OpenAIResponsesModel(client, model);
}
