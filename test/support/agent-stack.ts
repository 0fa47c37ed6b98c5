/**
 * The stack the framework adapter suites (LangChain, OpenAI Agents) share: the spec-driven fake
 * Stripe upstream, a real `keyleash serve` process in front of it, the typed admin client, and
 * credentials for an agent on a fresh root key. Each suite's support file adds what its tests need.
 */
import { KeyleashAdmin, type AgentCredentials, type KeyPolicyInput } from '../../packages/client/src/index.ts';
import { startFakeStripe, type FakeStripe } from '../upstreams/stripe/server.ts';
import { startKeyleash, type KeyleashProcess } from './keyleash-process.ts';

export interface AgentStack {
  upstream: FakeStripe;
  keyleash: KeyleashProcess;
  admin: KeyleashAdmin;
  proxyUrl: string;
  /** issues a root Stripe key and returns an agent's credentials for it, plus the key id */
  credentialsFor(role: string, policy: Partial<KeyPolicyInput>, extra?: Partial<AgentCredentials>): Promise<AgentCredentials & { keyId: string }>;
  close(): Promise<void>;
}

export interface AgentStackOptions {
  /** the real Stripe secret keyleash holds */
  secret: string;
  /** the Stripe hosts keyleash sends to the fake upstream */
  hosts: string[];
  /** the key `credentialsFor(role, policy)` issues: the suite's defaults, with `policy` on top */
  keyPolicy(role: string, policy: Partial<KeyPolicyInput>): KeyPolicyInput;
}

export async function startAgentStack(options: AgentStackOptions): Promise<AgentStack> {
  const upstream = await startFakeStripe({ secret: options.secret });
  let keyleash: KeyleashProcess;
  try {
    keyleash = await startKeyleash({
      upstreams: Object.fromEntries(options.hosts.map((host) => [host, upstream.url])),
      env: { STRIPE_SECRET_KEY: options.secret },
    });
  } catch (error) {
    await upstream.close();
    throw error;
  }
  const admin = new KeyleashAdmin({ proxyUrl: keyleash.url, adminToken: keyleash.adminToken });
  return {
    upstream,
    keyleash,
    admin,
    proxyUrl: keyleash.url,
    async credentialsFor(role, policy, extra = {}) {
      const key = await admin.issueKey(options.keyPolicy(role, policy));
      return { role, vaultKey: key.vault_key, proxyUrl: keyleash.url, keyId: key.id, ...extra };
    },
    async close() {
      await keyleash.stop();
      await upstream.close();
    },
  };
}
