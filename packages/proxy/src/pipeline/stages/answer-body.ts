/** Reading the upstream's answer as the vendor module needs it. */
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';

/** A server-sent-event answer whose bytes are neither compressed (keyleash asked for none) nor otherwise encoded. */
export function isEventStream(headers: Record<string, string | string[]>): boolean {
  const type = String(headers['content-type'] ?? '').toLowerCase();
  const encoding = String(headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  return type.startsWith('text/event-stream') && (encoding === '' || encoding === 'identity');
}

/**
 * The answer's bytes as text the vendor module can read: keyleash asked for no compression, but an
 * upstream may compress anyway (gzip, deflate, br); then it is decoded and the header dropped.
 */
export function decodedBody(body: Buffer, headers: Record<string, string | string[]>): Buffer {
  const encoding = String(headers['content-encoding'] ?? '').trim().toLowerCase();
  if (encoding === '' || encoding === 'identity') return body;
  const decode = encoding === 'gzip' || encoding === 'x-gzip' ? gunzipSync : encoding === 'deflate' ? inflateSync : encoding === 'br' ? brotliDecompressSync : undefined;
  if (!decode) return body;
  delete headers['content-encoding'];
  return decode(body);
}
