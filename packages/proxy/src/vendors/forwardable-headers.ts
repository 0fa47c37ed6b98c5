import type { IncomingHttpHeaders } from 'node:http';

/** Hop-by-hop headers (RFC 9110 §7.6.1) and the ones undici computes itself. */
const NEVER_FORWARDED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'expect',
]);

/**
 * The client's headers as they go upstream: byte-for-byte, minus hop-by-hop ones, minus every
 * `keyleash-*` attribution header (nothing of ours reaches the vendor), minus `omit` (the
 * credential the vendor module replaces with the real secret).
 */
export function copyForwardableHeaders(headers: IncomingHttpHeaders, omit: readonly string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || NEVER_FORWARDED.has(name) || name.startsWith('keyleash-') || omit.includes(name)) continue;
    out[name] = value;
  }
  return out;
}

/** Response headers that must not be copied back to the client as-is. */
export function isHopByHopResponseHeader(name: string): boolean {
  return NEVER_FORWARDED.has(name) && name !== 'content-length';
}
