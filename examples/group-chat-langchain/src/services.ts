/**
 * What the example runs against. Offline (the default): the Stripe-faithful fake upstream, a real
 * `keyleash serve` process in front of it, and the scripted OpenAI-compatible model server, all on
 * loopback ports. Live: set OPENAI_API_KEY for a real model, STRIPE_SECRET_KEY (a test-mode key)
 * for real Stripe; KEYLEASH_URL + KEYLEASH_ADMIN_TOKEN to use a keyleash you already run.
 *
 * keyleash runs as its own process on purpose: it holds the Stripe secret; the agents only ever
 * hold vault keys.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { exampleAdminToken, startExampleStripe } from '@keyleash/example-support';
import { startFakeOpenAI, type FakeOpenAI, type Script } from '../../../test/upstreams/openai/server.ts';
import { OpenAIChatModel } from './openai-chat-model.ts';

const REPO_ROOT = resolve(import.meta.dirname, '../../..');

export interface Services {
  proxyUrl: string;
  adminToken: string;
  mode: { model: 'scripted' | 'openai'; stripe: 'fake' | 'stripe test mode' | "the external keyleash's"; keyleash: 'spawned' | 'external' };
  /** a chat model for one agent (offline: the model name picks that agent's script) */
  modelFor(agent: string): BaseChatModel;
  /** the scripted model server, offline */
  modelServer?: FakeOpenAI;
  stop(): Promise<void>;
}

export interface ServiceOptions {
  /** ignore OPENAI_API_KEY / STRIPE_SECRET_KEY / KEYLEASH_URL and run everything locally */
  offline: boolean;
  script: Script;
  env?: NodeJS.ProcessEnv;
}

async function spawnKeyleash(adminToken: string, stripeSecret: string, upstreams: Record<string, string>): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'keyleash-example-'));
  const args = ['--import', 'tsx', join(REPO_ROOT, 'packages/proxy/src/cli/main.ts'), 'serve', '--port', '0', '--store', `sqlite:${join(dir, 'keyleash.db')}`];
  for (const [host, url] of Object.entries(upstreams)) args.push('--upstream', `${host}=${url}`);
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    // only what keyleash needs: the agents' side of this process never passes its model key along
    env: { PATH: process.env.PATH ?? '', KEYLEASH_ADMIN_TOKEN: adminToken, STRIPE_SECRET_KEY: stripeSecret, KEYLEASH_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const url = await new Promise<string>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`keyleash did not start within 30 s:\n${output}`)), 30_000);
    child.stdout!.on('data', () => {
      const match = /keyleash listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        ready(match[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`keyleash exited with ${code} before listening:\n${output}`));
    });
  });
  return {
    url,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function startServices(options: ServiceOptions): Promise<Services> {
  const env = options.env ?? process.env;
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const fn of stops.reverse()) await fn();
  };
  try {
    const liveStripe = !options.offline && Boolean(env.STRIPE_SECRET_KEY);
    const liveModel = !options.offline && Boolean(env.OPENAI_API_KEY);
    const externalKeyleash = !options.offline && Boolean(env.KEYLEASH_URL && env.KEYLEASH_ADMIN_TOKEN);

    let proxyUrl: string;
    let adminToken: string;
    if (externalKeyleash) {
      proxyUrl = env.KEYLEASH_URL!;
      adminToken = env.KEYLEASH_ADMIN_TOKEN!;
    } else {
      // Stripe test mode for a test-mode key (a live one is refused), else the local fake Stripe
      const stripe = await startExampleStripe(liveStripe ? env.STRIPE_SECRET_KEY : undefined);
      stops.push(() => stripe.close());
      adminToken = exampleAdminToken();
      const keyleash = await spawnKeyleash(adminToken, stripe.secret, stripe.upstreams);
      stops.push(() => keyleash.stop());
      proxyUrl = keyleash.url;
    }

    let modelFor: (agent: string) => BaseChatModel;
    let modelServer: FakeOpenAI | undefined;
    if (liveModel) {
      const model = env.OPENAI_MODEL ?? 'gpt-4o-mini';
      modelFor = () => new OpenAIChatModel({ model, apiKey: env.OPENAI_API_KEY!, temperature: 0 });
    } else {
      const server = await startFakeOpenAI({ script: options.script, apiKey: 'sk-offline-scripted' });
      stops.push(() => server.close());
      modelServer = server;
      modelFor = (agent) => new OpenAIChatModel({ model: agent, apiKey: 'sk-offline-scripted', baseURL: server.url });
    }
    return {
      proxyUrl,
      adminToken,
      mode: { model: liveModel ? 'openai' : 'scripted', stripe: externalKeyleash ? "the external keyleash's" : liveStripe ? 'stripe test mode' : 'fake', keyleash: externalKeyleash ? 'external' : 'spawned' },
      modelFor,
      ...(modelServer ? { modelServer } : {}),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
