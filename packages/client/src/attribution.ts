/**
 * Who is making a call: recorded by the proxy in the audit row and stripped before the request
 * reaches the vendor. Adapters fill this per tool call.
 */
export interface Attribution {
  agent?: string;
  runId?: string;
  tool?: string;
  toolCallId?: string;
}

/** A fixed attribution, or a function read at every request (so one client can serve many tool calls). */
export type AttributionSource = Attribution | (() => Attribution | undefined);

export function attributionHeaders(source: AttributionSource | undefined): Record<string, string> {
  const attribution = typeof source === 'function' ? source() : source;
  if (!attribution) return {};
  const headers: Record<string, string> = {};
  if (attribution.agent) headers['keyleash-agent'] = attribution.agent;
  if (attribution.runId) headers['keyleash-run-id'] = attribution.runId;
  if (attribution.tool) headers['keyleash-tool'] = attribution.tool;
  if (attribution.toolCallId) headers['keyleash-tool-call-id'] = attribution.toolCallId;
  return headers;
}
