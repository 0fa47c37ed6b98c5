/**
 * A minimal LangChain chat model over the official `openai` package (chat completions, tool
 * calling, optional streaming). It stands in for `@langchain/openai`, which this repository does not
 * install; point it at api.openai.com or at any OpenAI-compatible server (the scripted one used
 * offline, see test/upstreams/openai/server.ts).
 */
import OpenAI from 'openai';
import { BaseChatModel, type BaseChatModelCallOptions, type BaseChatModelParams, type BindToolsInput } from '@langchain/core/language_models/chat_models';
import { AIMessage, type BaseMessage } from '@langchain/core/messages';
import type { ChatResult } from '@langchain/core/outputs';
import { convertToOpenAITool } from '@langchain/core/utils/function_calling';

export interface OpenAIChatModelCallOptions extends BaseChatModelCallOptions {
  tools?: OpenAI.ChatCompletionFunctionTool[];
}

export interface OpenAIChatModelFields extends BaseChatModelParams {
  model: string;
  /** default env OPENAI_API_KEY */
  apiKey?: string;
  /** default https://api.openai.com/v1 (env OPENAI_BASE_URL) */
  baseURL?: string;
  /** ask for a streamed answer and reassemble it (same result, exercises the SSE path) */
  streaming?: boolean;
  temperature?: number;
  client?: OpenAI;
}

function textOf(message: BaseMessage): string {
  return typeof message.content === 'string' ? message.content : message.text;
}

function toOpenAIMessages(messages: BaseMessage[]): OpenAI.ChatCompletionMessageParam[] {
  return messages.map((message): OpenAI.ChatCompletionMessageParam => {
    switch (message.type) {
      case 'system':
        return { role: 'system', content: textOf(message) };
      case 'human':
        return { role: 'user', content: textOf(message) };
      case 'tool':
        return { role: 'tool', tool_call_id: (message as unknown as { tool_call_id: string }).tool_call_id, content: textOf(message) };
      case 'ai': {
        const calls = (message as AIMessage).tool_calls ?? [];
        return {
          role: 'assistant',
          content: textOf(message) || null,
          ...(calls.length > 0
            ? { tool_calls: calls.map((call) => ({ id: call.id ?? '', type: 'function' as const, function: { name: call.name, arguments: JSON.stringify(call.args) } })) }
            : {}),
        };
      }
      default:
        return { role: 'user', content: textOf(message) };
    }
  });
}

export class OpenAIChatModel extends BaseChatModel<OpenAIChatModelCallOptions> {
  readonly model: string;
  private readonly client: OpenAI;
  private readonly streaming: boolean;
  private readonly temperature: number | undefined;

  constructor(fields: OpenAIChatModelFields) {
    super(fields);
    this.model = fields.model;
    this.streaming = fields.streaming ?? false;
    this.temperature = fields.temperature;
    this.client =
      fields.client ??
      new OpenAI({ ...(fields.apiKey ? { apiKey: fields.apiKey } : {}), ...(fields.baseURL ? { baseURL: fields.baseURL } : {}) });
  }

  _llmType(): string {
    return 'openai-chat-minimal';
  }

  override bindTools(tools: BindToolsInput[], kwargs?: Partial<OpenAIChatModelCallOptions>) {
    return this.withConfig({ ...kwargs, tools: tools.map((tool) => convertToOpenAITool(tool) as OpenAI.ChatCompletionFunctionTool) });
  }

  async _generate(messages: BaseMessage[], options: this['ParsedCallOptions']): Promise<ChatResult> {
    const request = {
      model: this.model,
      messages: toOpenAIMessages(messages),
      ...(options.tools?.length ? { tools: options.tools } : {}),
      ...(this.temperature !== undefined ? { temperature: this.temperature } : {}),
    };
    const requestOptions = options.signal ? { signal: options.signal } : {};
    const completion = this.streaming
      ? await this.client.chat.completions.stream(request, requestOptions).finalChatCompletion()
      : await this.client.chat.completions.create(request, requestOptions);
    const choice = completion.choices[0];
    if (!choice) throw new Error(`the model answered with no choices (completion ${completion.id})`);
    const toolCalls: NonNullable<AIMessage['tool_calls']> = [];
    const invalidToolCalls: NonNullable<AIMessage['invalid_tool_calls']> = [];
    for (const call of choice.message.tool_calls ?? []) {
      if (call.type !== 'function') continue;
      try {
        toolCalls.push({ id: call.id, name: call.function.name, args: JSON.parse(call.function.arguments || '{}'), type: 'tool_call' });
      } catch {
        invalidToolCalls.push({ id: call.id, name: call.function.name, args: call.function.arguments, error: 'arguments are not valid JSON', type: 'invalid_tool_call' });
      }
    }
    const message = new AIMessage({
      // the completion id: unique per answer, so messages from several agents never collide in a graph's state
      id: completion.id,
      content: choice.message.content ?? '',
      tool_calls: toolCalls,
      invalid_tool_calls: invalidToolCalls,
      response_metadata: { model: completion.model, finish_reason: choice.finish_reason },
      ...(completion.usage
        ? { usage_metadata: { input_tokens: completion.usage.prompt_tokens, output_tokens: completion.usage.completion_tokens, total_tokens: completion.usage.total_tokens } }
        : {}),
    });
    return { generations: [{ text: choice.message.content ?? '', message }] };
  }
}
