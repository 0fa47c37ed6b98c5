import { deriveChild, revokeSelf, type ChildPolicyInput } from '../admin.ts';
import type { AgentCredentials } from './credentials.ts';

/**
 * Runs `body` under a child key freshly derived from the parent's, and revokes the child when
 * the body ends: normally, by throwing, or by abort. The child's spend counts against the
 * parent's caps too (the proxy reserves against the whole chain).
 */
export async function withChildKey<T>(
  parent: AgentCredentials,
  child: { role: string; policy: ChildPolicyInput; runId?: string },
  body: (credentials: AgentCredentials) => Promise<T>,
  options: { signal?: AbortSignal } = {},
): Promise<T> {
  const proxy = parent.proxyUrl ? { proxyUrl: parent.proxyUrl } : {};
  const issued = await deriveChild(parent.vaultKey, { ...child.policy, metadata: { ...child.policy.metadata, role: child.policy.metadata?.role ?? child.role } }, proxy);
  const credentials: AgentCredentials = {
    role: child.role,
    vaultKey: issued.vault_key,
    ...proxy,
    ...((child.runId ?? parent.runId) ? { runId: child.runId ?? parent.runId! } : {}),
  };
  try {
    if (options.signal?.aborted) throw options.signal.reason ?? new Error('aborted');
    if (!options.signal) return await body(credentials);
    return await new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(options.signal!.reason ?? new Error('aborted'));
      options.signal!.addEventListener('abort', onAbort, { once: true });
      body(credentials).then(resolve, reject).finally(() => options.signal!.removeEventListener('abort', onAbort));
    });
  } finally {
    await revokeSelf(issued.vault_key, proxy);
  }
}
