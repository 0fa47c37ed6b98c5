import { deriveChild, revokeSelf, type AgentCredentials, type ChildPolicyInput } from '@keyleash/client';

/** The key an MCP session's tools spend from, and how to end it. */
export interface SessionKey {
  credentials: AgentCredentials;
  /** the child key's id, when the session has its own child key */
  childKeyId?: string;
  /** revokes the session's child key (a no-op for a session on its configured key) */
  end(): Promise<void>;
}

/**
 * The session's key: the configured vault key itself, or, with `childPolicy`, a child freshly
 * derived from it for this session alone (never wider: the proxy checks), revoked when the
 * session ends. Either way every call also counts against the configured key's caps.
 */
export async function openSessionKey(parent: AgentCredentials, childPolicy: ChildPolicyInput | undefined): Promise<SessionKey> {
  if (!childPolicy) return { credentials: parent, end: async () => {} };
  const proxy = parent.proxyUrl ? { proxyUrl: parent.proxyUrl } : {};
  const child = await deriveChild(parent.vaultKey, childPolicy, proxy);
  let ended: Promise<void> | undefined;
  return {
    credentials: { ...parent, vaultKey: child.vault_key },
    childKeyId: child.id,
    end: () => (ended ??= revokeSelf(child.vault_key, proxy).then(() => undefined)),
  };
}
