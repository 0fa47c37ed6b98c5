/**
 * Where an example's keyleash and Stripe come from:
 *   - KEYLEASH_URL + KEYLEASH_ADMIN_TOKEN: a keyleash you already run (it holds the Stripe secret);
 *   - STRIPE_SECRET_KEY (test mode): keyleash in this process, in front of the real Stripe API;
 *   - neither (default): keyleash in this process, in front of the local fake Stripe. No network.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyleashAdmin } from '@keyleash/client';
import { createKeyleash } from '../../../packages/proxy/src/server.ts';
import { SqliteStore } from '../../../packages/proxy/src/stores/sqlite/sqlite-store.ts';
import { startFakeStripe } from '../../../test/upstreams/stripe/server.ts';

export interface LocalStack {
  proxyUrl: string;
  admin: KeyleashAdmin;
  /** one line for the console: what the agents are really talking to */
  description: string;
  close(): Promise<void>;
}

export type Env = Readonly<Record<string, string | undefined>>;

/** The Stripe a keyleash started by an example stands in front of. */
export interface ExampleStripe {
  /** the secret keyleash holds: the given test-mode key, or the local fake's */
  secret: string;
  /** vendor host -> URL for keyleash's upstreams: every Stripe host to the fake, or none (the real Stripe) */
  upstreams: Record<string, string>;
  /** the local fake's URL; undefined for Stripe test mode */
  fakeUrl?: string;
  close(): Promise<void>;
}

/**
 * Stripe test mode when given a secret (a live key is refused: these examples move money),
 * otherwise the local fake Stripe, started here with a fresh secret.
 */
export async function startExampleStripe(realSecret: string | undefined): Promise<ExampleStripe> {
  if (realSecret) {
    if (!/^(sk|rk)_test_/.test(realSecret)) {
      throw new Error('this example moves money: give it a Stripe test-mode key (sk_test_… or rk_test_…), never a live one');
    }
    return { secret: realSecret, upstreams: {}, close: async () => {} };
  }
  const secret = `sk_test_fake_${randomBytes(12).toString('hex')}`;
  const fake = await startFakeStripe({ secret });
  return {
    secret,
    upstreams: Object.fromEntries(['api.stripe.com', 'files.stripe.com', 'connect.stripe.com'].map((host) => [host, fake.url])),
    fakeUrl: fake.url,
    close: () => fake.close(),
  };
}

/** A fresh admin token for a keyleash an example starts. */
export function exampleAdminToken(): string {
  return `kla_example_${randomBytes(16).toString('hex')}`;
}

/** More for a keyleash an example starts itself: other vendors' secrets and upstreams (e.g. a scripted model server). */
export interface LocalStackExtras {
  env?: Record<string, string>;
  upstreams?: Record<string, string>;
}

export async function startLocalStack(env: Env = process.env, extras: LocalStackExtras = {}): Promise<LocalStack> {
  if (env.KEYLEASH_URL && env.KEYLEASH_ADMIN_TOKEN) {
    return {
      proxyUrl: env.KEYLEASH_URL,
      admin: new KeyleashAdmin({ proxyUrl: env.KEYLEASH_URL, adminToken: env.KEYLEASH_ADMIN_TOKEN }),
      description: `your keyleash at ${env.KEYLEASH_URL}`,
      close: async () => {},
    };
  }

  const stripe = await startExampleStripe(env.STRIPE_SECRET_KEY);
  const store = new SqliteStore(join(mkdtempSync(join(tmpdir(), 'keyleash-example-')), 'keyleash.db'));
  const adminToken = exampleAdminToken();
  const keyleash = createKeyleash({
    store,
    adminToken,
    env: { STRIPE_SECRET_KEY: stripe.secret, ...extras.env },
    upstreams: new Map(Object.entries({ ...stripe.upstreams, ...extras.upstreams })),
  });
  await new Promise<void>((resolve, reject) => {
    keyleash.server.once('error', reject);
    keyleash.server.listen(0, '127.0.0.1', resolve);
  });
  const proxyUrl = `http://127.0.0.1:${(keyleash.server.address() as AddressInfo).port}`;
  return {
    proxyUrl,
    admin: new KeyleashAdmin({ proxyUrl, adminToken }),
    description: stripe.fakeUrl ? `keyleash ${proxyUrl} (in this process) -> local fake Stripe ${stripe.fakeUrl}` : `keyleash ${proxyUrl} (in this process) -> Stripe test mode`,
    async close() {
      await keyleash.close();
      await store.close();
      await stripe.close();
    },
  };
}
