import type { IncomingHttpHeaders } from 'node:http';

/** Attribution headers an adapter sends; recorded in the audit, never forwarded to the vendor. */
export const ATTRIBUTION_HEADERS = {
  'keyleash-agent': 'agent',
  'keyleash-run-id': 'run_id',
  'keyleash-tool': 'tool',
  'keyleash-tool-call-id': 'tool_call_id',
} as const;

export function readAttribution(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [header, field] of Object.entries(ATTRIBUTION_HEADERS)) {
    const value = headers[header];
    if (typeof value === 'string' && value.length > 0) out[field] = value.slice(0, 200);
  }
  return out;
}
