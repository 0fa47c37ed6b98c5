/**
 * What an OpenAI model call (chat completion, response, embedding) may cost at most, decided
 * from the request alone, and the body keyleash sends instead when it has to add a bound.
 *
 * Worst case = input tokens x input price + output-token bound x output price, where
 * - input tokens <= the request body's UTF-8 byte length: every token of OpenAI's byte-level
 *   tokenizers stands for at least one byte of text, and the JSON around the text (keys, quotes,
 *   braces) outweighs the few tokens of chat framing; plus IMAGE_TOKEN_BOUND per image part, whose
 *   tokens follow its pixels, not its bytes;
 * - the output bound is the request's own (`max_completion_tokens` / `max_tokens`, times `n`;
 *   `max_output_tokens`), or, under a capped key, the policy's default written into the request.
 * Inputs whose size no request byte bounds (stored conversations, prompt templates, files, audio,
 * hosted tools with their own fees) are refused under a capped key.
 */
import { OPENAI_DEFAULT_MAX_OUTPUT_TOKENS, openAIModelPrice, openAITokensCost, refusal, type OpenAIPriceTable, type Refusal, type VaultKeyRecord } from '@keyleash/core';
import type { Pricing, UpstreamAnswer } from '../vendor.ts';
import { OpenAIStreamMeter } from './stream-meter.ts';
import { tokensFromUsage } from './usage.ts';

export type ModelApi = 'chat.completions' | 'responses' | 'embeddings';

/** Tokens counted for one image part, whatever its bytes (above the largest tiled/patched image cost OpenAI documents). */
export const IMAGE_TOKEN_BOUND = 10_000;

const OUTPUT_FIELD: Record<Exclude<ModelApi, 'embeddings'>, string> = { 'chat.completions': 'max_completion_tokens', responses: 'max_output_tokens' };

const isCapped = (chain: readonly VaultKeyRecord[]) => chain.some((key) => key.policy.dailyCapMicros !== null || key.policy.totalCapMicros !== null);

/** What the request's content holds that its bytes do not bound: images (counted) and the rest (named). */
function scanContent(value: unknown, found: { images: number; unbounded: Set<string> }): void {
  if (Array.isArray(value)) {
    for (const item of value) scanContent(item, found);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const type = (value as { type?: unknown }).type;
  if (type === 'image_url' || type === 'input_image') found.images += 1;
  if (type === 'file' || type === 'input_file') found.unbounded.add('file inputs');
  if (type === 'input_audio') found.unbounded.add('audio inputs');
  for (const child of Object.values(value)) scanContent(child, found);
}

function scanRequestContent(api: ModelApi, body: Record<string, any>) {
  const found = { images: 0, unbounded: new Set<string>() };
  scanContent(api === 'responses' ? body.input : api === 'chat.completions' ? body.messages : undefined, found);
  return found;
}

/** Request features whose cost no byte count bounds; each makes the request unbounded under a cap. */
function unboundedFeatures(api: ModelApi, body: Record<string, any>, content: ReturnType<typeof scanRequestContent>): string[] {
  const features = [...content.unbounded];
  if (api === 'responses') {
    if (body.previous_response_id != null) features.push('previous_response_id (a stored conversation)');
    if (body.conversation != null) features.push('conversation (a stored conversation)');
    if (body.prompt != null) features.push('prompt (a stored prompt template)');
    const hosted = (Array.isArray(body.tools) ? body.tools : []).map((tool: any) => tool?.type).filter((type: unknown) => type !== 'function' && type !== 'custom');
    if (hosted.length) features.push(`hosted tools (${[...new Set(hosted)].join(', ')}), billed per call`);
  }
  if (api === 'chat.completions') {
    if (body.web_search_options != null) features.push('web_search_options, billed per call');
    if (body.audio != null || (Array.isArray(body.modalities) && body.modalities.includes('audio'))) features.push('audio output');
  }
  if (body.service_tier === 'priority' || body.service_tier === 'scale') features.push(`service_tier "${body.service_tier}", billed above list price`);
  return features;
}

const positiveInt = (value: unknown) => typeof value === 'number' && Number.isSafeInteger(value) && value > 0;

export function priceModelCall(api: ModelApi, rawBody: Buffer, chain: readonly VaultKeyRecord[], table: OpenAIPriceTable): Pricing {
  const key = chain[0]!;
  const ambiguous = (why: string): Pricing => ({ kind: 'refused', refusal: refusal('keyleash_ambiguous_request', `Refused: ${why}. Nothing was sent to OpenAI.`) });
  let body: Record<string, any>;
  try {
    body = JSON.parse(rawBody.toString('utf8'));
  } catch {
    return ambiguous(`the body of POST /v1/${api.replace('.', '/')} is not JSON`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return ambiguous('the request body is not a JSON object');
  if (typeof body.model !== 'string' || body.model.length === 0) return ambiguous('the request names no model');
  const label = `${api} ${body.model}`;
  const capped = isCapped(chain);
  const price = openAIModelPrice(table, body.model);
  if (!price) {
    if (!capped) return { kind: 'unpriced', label: `${label} (model not in the price table)` };
    return {
      kind: 'refused',
      refusal: refusal(
        'keyleash_unknown_model',
        `Refused: keyleash has no price for the model "${body.model.slice(0, 128)}" (price table of ${table.as_of}), and vault key ${key.id}'s key tree has a spend cap, so the call cannot be bounded. Use a model from the table (${Object.keys(table.models).slice(0, 8).join(', ')}, …); an operator can add it with --openai-price-table.`,
        { model: body.model.slice(0, 128) },
      ),
    };
  }
  const content = scanRequestContent(api, body);
  if (capped) {
    const features = unboundedFeatures(api, body, content);
    if (features.length) {
      return {
        kind: 'refused',
        refusal: refusal(
          'keyleash_unbounded_request',
          `Refused: this ${label} call uses ${features.join('; ')}, whose cost keyleash cannot bound before the call, and vault key ${key.id}'s key tree has a spend cap. Send the content inline as text instead. Do not retry this request unchanged.`,
        ),
      };
    }
  }

  let outputTokens = 0;
  if (api !== 'embeddings') {
    // both chat spellings may be present: every one given must be valid, and the larger binds
    const given = (api === 'chat.completions' ? [body.max_completion_tokens, body.max_tokens] : [body.max_output_tokens]).filter((value) => value != null);
    const invalid = given.find((value) => !positiveInt(value));
    if (invalid !== undefined) return ambiguous(`${OUTPUT_FIELD[api]} must be a positive whole number, got ${JSON.stringify(invalid).slice(0, 40)}`);
    const requested = given.length ? Math.max(...(given as number[])) : undefined;
    outputTokens = requested ?? key.policy.openai?.defaultMaxOutputTokens ?? OPENAI_DEFAULT_MAX_OUTPUT_TOKENS;
    if (requested == null && capped) {
      body[OUTPUT_FIELD[api]] = outputTokens;
    }
    if (api === 'chat.completions') {
      const choices = body.n ?? 1;
      if (!positiveInt(choices) || choices > 128) return ambiguous(`n must be a whole number from 1 to 128, got ${JSON.stringify(choices).slice(0, 40)}`);
      outputTokens *= choices;
    }
  }
  const stream = body.stream === true;
  let stripUsageChunk = false;
  if (stream && api === 'chat.completions' && body.stream_options?.include_usage !== true) {
    body.stream_options = { ...(typeof body.stream_options === 'object' && body.stream_options !== null ? body.stream_options : {}), include_usage: true };
    stripUsageChunk = true;
  }
  // OpenAI is sent exactly what was priced: re-serialised, a body whose JSON could be read two
  // ways (a duplicated "model" or bound, say) reaches OpenAI as the one reading keyleash priced
  const upstreamBody = Buffer.from(JSON.stringify(body));
  const inputBound = Math.max(upstreamBody.length, rawBody.length) + content.images * IMAGE_TOKEN_BOUND;
  const micros = openAITokensCost(price, { input: inputBound, output: outputTokens });
  return {
    kind: 'priced',
    label,
    micros,
    upstreamBody,
    // an answer without a readable usage keeps the worst case counted
    settle: (answer: UpstreamAnswer) => {
      const tokens = tokensFromUsage((answer.json as { usage?: unknown } | null)?.usage);
      return { micros: tokens ? openAITokensCost(price, tokens) : micros };
    },
    ...(stream ? { meterStream: () => new OpenAIStreamMeter({ price, stripUsageChunk }) } : {}),
  };
}
