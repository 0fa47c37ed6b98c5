/**
 * A scripted, OpenAI-compatible model server for end-to-end tests and offline examples: the test
 * writes each model turn (tool calls or a final text), the real `openai` client (or any framework
 * built on it) talks to it over HTTP. No network beyond the loopback listener.
 *
 * Serves, under any path prefix (`/v1`, `/openai/v1`, …):
 * - `POST …/chat/completions`, non-stream and `stream: true` (SSE chunks, `[DONE]`, usage chunk
 *   when `stream_options.include_usage`);
 * - `POST …/responses`, non-stream and `stream: true` (the full event sequence:
 *   response.created … response.completed);
 * - `POST …/embeddings` (unscripted: a small vector per input, usage of one token per 4 characters);
 * - `GET …/models`.
 * Every answer reports `usage` (a turn may script it), and the request records what it reported,
 * so a test can hold keyleash's ledger against what the upstream billed.
 * Shapes follow SDK-FACTS §5.2. Every request is recorded, with the tool results it carries
 * pulled out, so a test can check what the model was told ("the next request contains the refusal").
 *
 * Scripts: a list of steps consumed in order (one per model request), or one list per model name
 * (the request's `model` field; `'*'` is the fallback), so several agents can share one server. A
 * step is a turn, or a function of the request returning one (sync or async: it can read the
 * transcript, e.g. to pick up an id a tool returned, or wait for the test). When no step is left
 * the server answers 500 with `x-should-retry: false`, and records the request as unscripted.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ScriptedToolCall {
  name: string;
  /** an object is sent JSON-encoded; a string is sent as-is (to script malformed arguments) */
  arguments?: Record<string, unknown> | string;
  /** default: a fresh `call_…` id */
  id?: string;
}

/** Tokens a turn reports as its `usage` (default: 10 input, 5 output, none cached). */
export interface ScriptedUsage {
  input: number;
  output: number;
  cachedInput?: number;
}

interface TurnExtras {
  usage?: ScriptedUsage;
  /** a streamed answer sends its first event, then waits for this before the rest (to test clients that hang up) */
  streamHold?: Promise<unknown>;
}

export type Turn =
  | ({ toolCalls: ScriptedToolCall[]; text?: string } & TurnExtras)
  | ({ text: string } & TurnExtras)
  | { error: { status: number; message: string; type?: string; code?: string } };

export type ScriptStep = Turn | ((request: ModelRequest) => Turn | Promise<Turn>);

/** one queue for every request, or one per model name (`'*'` = any other model) */
export type Script = ScriptStep[] | Record<string, ScriptStep[]>;

export interface ToolResult {
  /** the tool call id this result answers */
  callId: string;
  output: string;
}

export interface ModelRequest {
  /** 0-based, over all requests to this server */
  index: number;
  api: 'chat.completions' | 'responses' | 'embeddings';
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: any;
  model: string;
  stream: boolean;
  /** names of the tools offered in this request */
  tools: string[];
  /** every tool result in the conversation sent (chat `tool` messages, responses `function_call_output` items), in order */
  toolResults: ToolResult[];
  /** the tool results after the last assistant turn: what the model is being told right now */
  newToolResults: ToolResult[];
  /** all text of the conversation sent (instructions, messages, tool results), one entry per line, for `toContain` checks */
  transcript: string;
  /** true when no scripted step was left to answer it */
  unscripted: boolean;
  /** the usage the answer reported (sent in full even when the client hung up early), once answered */
  usage?: ScriptedUsage;
  /** set when a streamed answer has been written to its end */
  streamEnded?: boolean;
}

export interface FakeOpenAI {
  /** base URL including `/v1`, for `new OpenAI({ baseURL })` */
  url: string;
  port: number;
  /** every model request received, in order */
  requests: ModelRequest[];
  /** the requests for one model name */
  requestsFor(model: string): ModelRequest[];
  /** append steps (to the shared queue, or to one model's queue) */
  push(steps: ScriptStep[], model?: string): void;
  /** steps not consumed yet, per queue (`''` is the shared queue) */
  remaining(): Record<string, number>;
  close(): Promise<void>;
}

export interface FakeOpenAIOptions {
  script?: Script;
  /** when set, requests must carry `Authorization: Bearer <apiKey>` */
  apiKey?: string;
  port?: number;
  host?: string;
}

const SHARED = '';

let idCounter = 0;
function newId(prefix: string): string {
  idCounter += 1;
  return `${prefix}${idCounter.toString(36)}${randomBytes(6).toString('hex')}`;
}

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part) => (typeof part === 'string' ? part : typeof part?.text === 'string' ? part.text : typeof part?.output === 'string' ? part.output : ''))
      .filter(Boolean)
      .join('\n');
  }
  return content == null ? '' : JSON.stringify(content);
}

/** what a request tells the model: its tool results and its text */
function readConversation(api: Exclude<ModelRequest['api'], 'embeddings'>, body: any): { toolResults: ToolResult[]; newToolResults: ToolResult[]; transcript: string; tools: string[] } {
  const toolResults: ToolResult[] = [];
  let newToolResults: ToolResult[] = [];
  const lines: string[] = [];
  const tools: string[] = [];
  if (api === 'chat.completions') {
    for (const message of Array.isArray(body.messages) ? body.messages : []) {
      if (message.role === 'tool') {
        const result = { callId: String(message.tool_call_id), output: contentText(message.content) };
        toolResults.push(result);
        newToolResults.push(result);
        lines.push(result.output);
        continue;
      }
      if (message.role === 'assistant') newToolResults = [];
      const text = contentText(message.content);
      if (text) lines.push(text);
      for (const call of message.tool_calls ?? []) lines.push(`${call.function?.name}(${call.function?.arguments ?? ''})`);
    }
    for (const tool of Array.isArray(body.tools) ? body.tools : []) if (tool?.function?.name) tools.push(tool.function.name);
  } else {
    if (typeof body.instructions === 'string') lines.push(body.instructions);
    const input = typeof body.input === 'string' ? [{ role: 'user', content: body.input }] : Array.isArray(body.input) ? body.input : [];
    for (const item of input) {
      if (item.type === 'function_call_output') {
        const result = { callId: String(item.call_id), output: contentText(item.output) };
        toolResults.push(result);
        newToolResults.push(result);
        lines.push(result.output);
        continue;
      }
      if (item.type === 'function_call') {
        newToolResults = [];
        lines.push(`${item.name}(${item.arguments ?? ''})`);
        continue;
      }
      if (item.role === 'assistant') newToolResults = [];
      const text = contentText(item.content);
      if (text) lines.push(text);
    }
    for (const tool of Array.isArray(body.tools) ? body.tools : []) if (typeof tool?.name === 'string') tools.push(tool.name);
  }
  return { toolResults, newToolResults, transcript: lines.join('\n'), tools };
}

interface ResolvedCall {
  id: string;
  name: string;
  arguments: string;
}

function resolveCalls(turn: { toolCalls: ScriptedToolCall[] }): ResolvedCall[] {
  return turn.toolCalls.map((call) => ({
    id: call.id ?? newId('call_'),
    name: call.name,
    arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments ?? {}),
  }));
}

const DEFAULT_USAGE: ScriptedUsage = { input: 10, output: 5 };
const usageChat = ({ input, output, cachedInput = 0 }: ScriptedUsage) => ({
  prompt_tokens: input,
  completion_tokens: output,
  total_tokens: input + output,
  prompt_tokens_details: { cached_tokens: cachedInput },
});
const usageResponses = ({ input, output, cachedInput = 0 }: ScriptedUsage) => ({
  input_tokens: input,
  output_tokens: output,
  total_tokens: input + output,
  input_tokens_details: { cached_tokens: cachedInput },
  output_tokens_details: { reasoning_tokens: 0 },
});

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function startSse(res: ServerResponse): (data: unknown, event?: string) => void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  return (data, event) => res.write(`${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
}

async function answerChat(res: ServerResponse, request: ModelRequest, turn: Exclude<Turn, { error: unknown }>): Promise<void> {
  const usage = turn.usage ?? DEFAULT_USAGE;
  request.usage = usage;
  const id = newId('chatcmpl-');
  const created = Math.floor(Date.now() / 1000);
  const calls = 'toolCalls' in turn ? resolveCalls(turn) : [];
  const text = turn.text ?? null;
  const finish = calls.length > 0 ? 'tool_calls' : 'stop';
  if (!request.stream) {
    const message: Record<string, unknown> = { role: 'assistant', content: text, refusal: null };
    if (calls.length > 0) message.tool_calls = calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } }));
    sendJson(res, 200, { id, object: 'chat.completion', created, model: request.model, choices: [{ index: 0, message, logprobs: null, finish_reason: finish }], usage: usageChat(usage) });
    return;
  }
  const send = startSse(res);
  const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) =>
    send({ id, object: 'chat.completion.chunk', created, model: request.model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }] });
  chunk({ role: 'assistant', content: '' });
  await turn.streamHold;
  if (text) {
    // split deltas, so clients are exercised on accumulation
    const half = Math.ceil(text.length / 2);
    chunk({ content: text.slice(0, half) });
    if (text.length > half) chunk({ content: text.slice(half) });
  }
  calls.forEach((call, index) => {
    chunk({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] });
    const half = Math.ceil(call.arguments.length / 2);
    chunk({ tool_calls: [{ index, function: { arguments: call.arguments.slice(0, half) } }] });
    if (call.arguments.length > half) chunk({ tool_calls: [{ index, function: { arguments: call.arguments.slice(half) } }] });
  });
  chunk({}, finish);
  if (request.body?.stream_options?.include_usage) send({ id, object: 'chat.completion.chunk', created, model: request.model, choices: [], usage: usageChat(usage) });
  send('[DONE]');
  res.end();
  request.streamEnded = true;
}

async function answerResponses(res: ServerResponse, request: ModelRequest, turn: Exclude<Turn, { error: unknown }>): Promise<void> {
  const usage = turn.usage ?? DEFAULT_USAGE;
  request.usage = usage;
  const id = newId('resp_');
  const created_at = Math.floor(Date.now() / 1000);
  const calls = 'toolCalls' in turn ? resolveCalls(turn) : [];
  const output: any[] = [];
  if (turn.text) {
    output.push({ type: 'message', id: newId('msg_'), role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: turn.text, annotations: [], logprobs: [] }] });
  }
  for (const call of calls) output.push({ type: 'function_call', id: newId('fc_'), call_id: call.id, name: call.name, arguments: call.arguments, status: 'completed' });
  const base = {
    id,
    object: 'response',
    created_at,
    model: request.model,
    output_text: turn.text ?? '',
    error: null,
    incomplete_details: null,
    instructions: request.body?.instructions ?? null,
    metadata: {},
    parallel_tool_calls: true,
    temperature: null,
    tool_choice: 'auto',
    tools: request.body?.tools ?? [],
    top_p: null,
  };
  const completed = { ...base, status: 'completed', output, usage: usageResponses(usage) };
  if (!request.stream) {
    sendJson(res, 200, completed);
    return;
  }
  const send = startSse(res);
  let sequence = 0;
  const event = (type: string, fields: Record<string, unknown>) => send({ type, sequence_number: sequence++, ...fields }, type);
  event('response.created', { response: { ...base, status: 'in_progress', output: [], usage: null } });
  await turn.streamHold;
  event('response.in_progress', { response: { ...base, status: 'in_progress', output: [], usage: null } });
  output.forEach((item, output_index) => {
    if (item.type === 'message') {
      event('response.output_item.added', { output_index, item: { ...item, status: 'in_progress', content: [] } });
      const part = { type: 'output_text', text: '', annotations: [], logprobs: [] };
      event('response.content_part.added', { output_index, item_id: item.id, content_index: 0, part });
      const text: string = item.content[0].text;
      const half = Math.ceil(text.length / 2);
      for (const delta of [text.slice(0, half), text.slice(half)].filter(Boolean)) {
        event('response.output_text.delta', { output_index, item_id: item.id, content_index: 0, delta, logprobs: [] });
      }
      event('response.output_text.done', { output_index, item_id: item.id, content_index: 0, text, logprobs: [] });
      event('response.content_part.done', { output_index, item_id: item.id, content_index: 0, part: { ...part, text } });
    } else {
      event('response.output_item.added', { output_index, item: { ...item, status: 'in_progress', arguments: '' } });
      event('response.function_call_arguments.delta', { output_index, item_id: item.id, delta: item.arguments });
      event('response.function_call_arguments.done', { output_index, item_id: item.id, name: item.name, arguments: item.arguments });
    }
    event('response.output_item.done', { output_index, item });
  });
  event('response.completed', { response: completed });
  res.end();
  request.streamEnded = true;
}

/** Tokens of an embedding input, deterministically: one per 4 characters (at least one per input). */
export function embeddingTokens(input: unknown): number {
  const inputs = Array.isArray(input) ? input : [input];
  return inputs.reduce((sum: number, one) => sum + Math.max(1, Math.ceil((typeof one === 'string' ? one.length : Array.isArray(one) ? one.length * 4 : 4) / 4)), 0);
}

/** `POST …/embeddings`: unscripted, a 3-dimensional vector per input, `base64` (the SDK's default) or `float`. */
async function answerEmbeddings(req: IncomingMessage, res: ServerResponse, path: string, requests: ModelRequest[]): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const inputs: unknown[] = Array.isArray(body.input) && typeof body.input[0] !== 'number' ? body.input : [body.input];
  const tokens = embeddingTokens(inputs);
  const request: ModelRequest = {
    index: requests.length,
    api: 'embeddings',
    path,
    headers: { ...req.headers },
    body,
    model: String(body.model ?? ''),
    stream: false,
    tools: [],
    toolResults: [],
    newToolResults: [],
    transcript: inputs.map(String).join('\n'),
    unscripted: false,
    usage: { input: tokens, output: 0 },
  };
  requests.push(request);
  const vector = (i: number) => [0.25 * (i + 1), -0.5, 1];
  const encode = (values: number[]) => (body.encoding_format === 'base64' ? Buffer.from(new Float32Array(values).buffer).toString('base64') : values);
  sendJson(res, 200, {
    object: 'list',
    model: request.model,
    data: inputs.map((_, index) => ({ object: 'embedding', index, embedding: encode(vector(index)) })),
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  });
}

export async function startFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const queues = new Map<string, ScriptStep[]>();
  const push = (steps: ScriptStep[], model: string = SHARED) => {
    const queue = queues.get(model) ?? [];
    queue.push(...steps);
    queues.set(model, queue);
  };
  if (Array.isArray(options.script)) push(options.script);
  else for (const [model, steps] of Object.entries(options.script ?? {})) push(steps, model);

  const requests: ModelRequest[] = [];
  const nextStep = (model: string): ScriptStep | undefined => {
    for (const name of [model, '*', SHARED]) {
      const queue = queues.get(name);
      if (queue && queue.length > 0) return queue.shift();
    }
    return undefined;
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    if (options.apiKey && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      return sendJson(res, 401, { error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', code: 'invalid_api_key', param: null } });
    }
    if (req.method === 'GET' && path.endsWith('/models')) {
      return sendJson(res, 200, { object: 'list', data: [{ id: 'fake-model', object: 'model', created: 0, owned_by: 'keyleash-tests' }] });
    }
    if (req.method === 'POST' && path.endsWith('/embeddings')) return answerEmbeddings(req, res, path, requests);
    const api = req.method === 'POST' && path.endsWith('/chat/completions') ? 'chat.completions' : req.method === 'POST' && path.endsWith('/responses') ? 'responses' : undefined;
    if (!api) return sendJson(res, 404, { error: { message: `fake-openai serves POST …/chat/completions and …/responses, not ${req.method} ${path}`, type: 'invalid_request_error', code: null, param: null } });

    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let body: any;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return sendJson(res, 400, { error: { message: 'the body is not valid JSON', type: 'invalid_request_error', code: null, param: null } });
    }
    const model = typeof body.model === 'string' ? body.model : '';
    const request: ModelRequest = {
      index: requests.length,
      api,
      path,
      headers: { ...req.headers },
      body,
      model,
      stream: body.stream === true,
      ...readConversation(api, body),
      unscripted: false,
    };
    requests.push(request);

    const step = nextStep(model);
    if (!step) {
      request.unscripted = true;
      return sendJson(
        res,
        500,
        { error: { message: `fake-openai: no scripted turn left for model "${model}" (request #${request.index})`, type: 'server_error', code: 'script_exhausted', param: null } },
        { 'x-should-retry': 'false' },
      );
    }
    const turn = typeof step === 'function' ? await step(request) : step;
    if ('error' in turn) {
      const { status, message, type = 'invalid_request_error', code } = turn.error;
      return sendJson(res, status, { error: { message, type, code: code ?? null, param: null } }, { 'x-should-retry': 'false' });
    }
    if (api === 'chat.completions') await answerChat(res, request, turn);
    else await answerResponses(res, request, turn);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: { message: `fake-openai: ${String(error)}`, type: 'server_error', code: null, param: null } }, { 'x-should-retry': 'false' });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}/v1`,
    port,
    requests,
    requestsFor: (model) => requests.filter((r) => r.model === model),
    push,
    remaining: () => Object.fromEntries([...queues].map(([name, queue]) => [name, queue.length])),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
