/** `Authorization: Bearer <token>`, as the Stripe and OpenAI SDKs send their key; undefined when absent. */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (!authorization?.startsWith('Bearer ')) return undefined;
  return authorization.slice('Bearer '.length).trim() || undefined;
}
