import { deriveChild, KeyleashApiError, revokeSelf, type ChildPolicyInput, type IssuedVaultKey } from '../admin.ts';
import type { ProxyOptions } from '../config.ts';
import type { AgentCredentials } from './credentials.ts';

/** What the body of `withChildKey` learns about the child key besides its credentials. */
export interface ChildKeyScope {
  /** the child key's public id (for the admin API and the audit) */
  keyId: string;
  /** the parent key's id */
  parentKeyId: string | null;
  /**
   * Aborted when the caller's signal aborts: hand it to the nested agent (e.g. `agent.invoke(…, { signal })`)
   * so it stops too. Whatever it still sends after that is refused: the child is already revoked.
   */
  signal: AbortSignal;
}

/**
 * Derives the child with `metadata.role` = its role. Metadata is inherited and cannot be changed,
 * so when the parent already has a role the child keeps the parent's (its spend then groups with
 * the parent's), and the sub-agent is still told apart by the `agent` attribution of its calls.
 */
async function deriveForRole(parentVaultKey: string, child: { role: string; policy: ChildPolicyInput }, proxy: ProxyOptions): Promise<IssuedVaultKey> {
  if (child.policy.metadata?.role !== undefined) return deriveChild(parentVaultKey, child.policy, proxy);
  try {
    return await deriveChild(parentVaultKey, { ...child.policy, metadata: { ...child.policy.metadata, role: child.role } }, proxy);
  } catch (error) {
    const roleInherited = error instanceof KeyleashApiError && error.status === 403 && error.problems.length > 0 && error.problems.every((p) => p.startsWith('metadata.role:'));
    if (!roleInherited) throw error;
    return deriveChild(parentVaultKey, child.policy, proxy);
  }
}

/**
 * Runs `body` under a child key freshly derived from the parent's, and revokes the child when
 * the body ends: normally, by throwing, or by abort. The child's spend counts against the
 * parent's caps too (the proxy reserves against the whole chain). The child's `metadata.role` is
 * its role unless the parent already has one (see deriveForRole).
 */
export async function withChildKey<T>(
  parent: AgentCredentials,
  child: { role: string; policy: ChildPolicyInput; runId?: string },
  body: (credentials: AgentCredentials, scope: ChildKeyScope) => Promise<T>,
  options: { signal?: AbortSignal } = {},
): Promise<T> {
  const proxy = parent.proxyUrl ? { proxyUrl: parent.proxyUrl } : {};
  if (options.signal?.aborted) throw options.signal.reason ?? new Error('aborted');
  const issued = await deriveForRole(parent.vaultKey, child, proxy);
  const credentials: AgentCredentials = {
    role: child.role,
    vaultKey: issued.vault_key,
    ...proxy,
    ...((child.runId ?? parent.runId) ? { runId: child.runId ?? parent.runId! } : {}),
  };
  const controller = new AbortController();
  const scope: ChildKeyScope = { keyId: issued.id, parentKeyId: issued.parent_id, signal: controller.signal };
  try {
    if (options.signal?.aborted) throw options.signal.reason ?? new Error('aborted');
    if (!options.signal) return await body(credentials, scope);
    return await new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        controller.abort(options.signal!.reason);
        reject(options.signal!.reason ?? new Error('aborted'));
      };
      options.signal!.addEventListener('abort', onAbort, { once: true });
      body(credentials, scope).then(resolve, reject).finally(() => options.signal!.removeEventListener('abort', onAbort));
    });
  } finally {
    await revokeSelf(issued.vault_key, proxy);
  }
}
