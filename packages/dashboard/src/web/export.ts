import type { AuditJson } from './api.ts';

const COLUMNS = [
  'seq', 'at', 'vault_key_id', 'root_key_id', 'vendor', 'decision', 'reason', 'method', 'path', 'status',
  'settled_usd', 'reserved_usd', 'upstream_request_id', 'idempotency_key', 'latency_ms',
  'agent', 'run_id', 'tool', 'tool_call_id', 'metadata',
] as const;

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = typeof value === 'string' ? value : typeof value === 'number' ? String(value) : JSON.stringify(value);
  // agents choose paths and attribution: keep a spreadsheet from reading them as formulas
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function auditCsv(rows: AuditJson[]): string {
  const lines = [COLUMNS.join(',')];
  for (const row of rows) {
    const flat: Record<(typeof COLUMNS)[number], unknown> = {
      ...row,
      agent: row.attribution.agent,
      run_id: row.attribution.run_id,
      tool: row.attribution.tool,
      tool_call_id: row.attribution.tool_call_id,
      metadata: row.metadata,
    };
    lines.push(COLUMNS.map((c) => cell(flat[c])).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}

export function auditJsonl(rows: AuditJson[]): string {
  return rows.map((row) => JSON.stringify(row)).join('\n') + (rows.length ? '\n' : '');
}

export function download(name: string, type: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
