/**
 * The OpenAI end-to-end stack: the scripted OpenAI-compatible server, a fake Stripe, and one real
 * `keyleash serve` in front of both (api.openai.com and every Stripe host pointed at the fakes),
 * with the official `openai` SDK aimed at keyleash by apiKey and baseURL only.
 */
import { randomBytes } from 'node:crypto';
import { DEFAULT_OPENAI_PRICE_TABLE, openAIModelPrice, openAITokensCost } from '../../packages/core/src/index.ts';
import OpenAI from 'openai';
import { adminApi, startKeyleash, type KeyleashProcess } from '../support/keyleash-process.ts';
import { perFileStack } from '../support/per-file-stack.ts';
import { startFakeOpenAI, type FakeOpenAI, type ScriptedUsage } from '../upstreams/openai/server.ts';
import { startFakeStripe, type FakeStripe } from '../upstreams/stripe/server.ts';

export { auditOf, spendMicros } from '../support/key-reads.ts';

export interface OpenAIStack {
  openaiSecret: string;
  stripeSecret: string;
  model: FakeOpenAI;
  stripe: FakeStripe;
  keyleash: KeyleashProcess;
  api: ReturnType<typeof adminApi>;
  stop(): Promise<void>;
}

export async function startOpenAIStack(options: { env?: Record<string, string>; extraArgs?: string[] } = {}): Promise<OpenAIStack> {
  const openaiSecret = `sk-proj-REAL${randomBytes(12).toString('hex')}`;
  const stripeSecret = `sk_test_REAL${randomBytes(12).toString('hex')}`;
  const model = await startFakeOpenAI({ apiKey: openaiSecret });
  const stripe = await startFakeStripe({ secret: stripeSecret });
  const stripeUrl = stripe.url;
  let keyleash: KeyleashProcess;
  try {
    keyleash = await startKeyleash({
      upstreams: {
        'api.openai.com': `http://127.0.0.1:${model.port}`,
        'api.stripe.com': stripeUrl,
        'files.stripe.com': stripeUrl,
        'connect.stripe.com': stripeUrl,
        'meter-events.stripe.com': stripeUrl,
      },
      env: { OPENAI_API_KEY: openaiSecret, STRIPE_SECRET_KEY: stripeSecret, ...options.env },
      ...(options.extraArgs ? { extraArgs: options.extraArgs } : {}),
    });
  } catch (error) {
    await model.close();
    await stripe.close();
    throw error;
  }
  return {
    openaiSecret,
    stripeSecret,
    model,
    stripe,
    keyleash,
    api: adminApi(keyleash),
    async stop() {
      await keyleash.stop();
      await model.close();
      await stripe.close();
    },
  };
}

export function useOpenAIStack(options: Parameters<typeof startOpenAIStack>[0] = {}): OpenAIStack {
  return perFileStack(() => startOpenAIStack(options));
}

/** The official SDK aimed at keyleash: only apiKey and baseURL differ from production use. */
export function openaiSdk(stack: Pick<OpenAIStack, 'keyleash'>, vaultKey: string): OpenAI {
  return new OpenAI({ apiKey: vaultKey, baseURL: `${stack.keyleash.url}/openai/v1`, maxRetries: 0 });
}

/** What `usage` costs at the shipped price table: the exact amount keyleash must settle to. */
export function usageMicros(model: string, usage: ScriptedUsage): number {
  const price = openAIModelPrice(DEFAULT_OPENAI_PRICE_TABLE, model);
  if (!price) throw new Error(`no price for ${model}`);
  return openAITokensCost(price, { input: usage.input, output: usage.output, cachedInput: usage.cachedInput ?? 0 });
}

/** The worst case keyleash reserves: body bytes as input tokens plus the output bound. */
export function worstCaseMicros(model: string, bodyBytes: number, outputTokens: number): number {
  return usageMicros(model, { input: bodyBytes, output: outputTokens });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until `check` returns a value (the audit row of a stream whose client hung up appears a little later). */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() - started > timeoutMs) throw new Error('timed out waiting');
    await sleep(50);
  }
}
