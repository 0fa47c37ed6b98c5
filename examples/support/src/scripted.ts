/**
 * The OpenAI Agents examples' stand-in for the LLM when OPENAI_API_KEY is not set: the Agents
 * SDK's own ScriptedModel, whose every answer is computed from the request it receives (what the
 * agent was asked and what its tools answered), so the SDK's real run loop drives the real tools
 * through the real proxy.
 */
import type { ModelRequest } from '@openai/agents';
import { ScriptedModel, modelResponder, type ScriptedModelResponse } from '@openai/agents/testing';

export function scriptedModel(respond: (request: ModelRequest) => ScriptedModelResponse, maxCalls = 32): ScriptedModel {
  return new ScriptedModel(Array.from({ length: maxCalls }, () => modelResponder((call) => respond(call.request))));
}

type Item = { type?: string; role?: string; content?: unknown; output?: unknown; name?: string };

function items(request: ModelRequest): Item[] {
  return typeof request.input === 'string' ? [{ role: 'user', content: request.input }] : (request.input as Item[]);
}

/** The tool outputs the model has been shown so far in this run, oldest first. */
export function toolOutputs(request: ModelRequest): { name: string; text: string }[] {
  return items(request)
    .filter((item) => item.type === 'function_call_result')
    .map((item) => {
      const output = item.output as string | { text?: string };
      return { name: item.name ?? '', text: typeof output === 'string' ? output : (output?.text ?? JSON.stringify(output)) };
    });
}

/** The first user message: the task the agent was given. */
export function userText(request: ModelRequest): string {
  const content = items(request).find((item) => item.role === 'user')?.content;
  if (typeof content === 'string') return content;
  return Array.isArray(content) ? content.map((part: { text?: string }) => part.text ?? '').join('') : '';
}
