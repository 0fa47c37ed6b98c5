import { describe, expect, it } from 'vitest';
import type { AuditJson } from '../src/web/api.ts';
import { auditCsv, auditJsonl } from '../src/web/export.ts';

const row = (patch: Partial<AuditJson>): AuditJson => ({
  seq: 7,
  at: '2025-06-01T12:00:00.000Z',
  vault_key_id: 'k1',
  root_key_id: 'k0',
  metadata: { role: 'billing' },
  vendor: 'stripe',
  method: 'POST',
  path: '/v1/payment_intents',
  status: 200,
  decision: 'allowed',
  reason: null,
  reserved_usd: 20,
  settled_usd: 20,
  reserved_micros: 20_000_000,
  settled_micros: 20_000_000,
  upstream_request_id: 'req_1',
  idempotency_key: null,
  latency_ms: 12,
  attribution: { agent: 'billing-agent', tool: 'charge' },
  hash: 'h',
  ...patch,
});

describe('audit export', () => {
  it('writes one CSV line per row with attribution split into columns', () => {
    const lines = auditCsv([row({})]).split('\r\n');
    expect(lines[0]).toBe('seq,at,vault_key_id,root_key_id,vendor,decision,reason,method,path,status,settled_usd,reserved_usd,upstream_request_id,idempotency_key,latency_ms,agent,run_id,tool,tool_call_id,metadata');
    expect(lines[1]).toBe('7,2025-06-01T12:00:00.000Z,k1,k0,stripe,allowed,,POST,/v1/payment_intents,200,20,20,req_1,,12,billing-agent,,charge,,"{""role"":""billing""}"');
  });

  it('quotes separators and keeps agent-chosen text from being read as a spreadsheet formula', () => {
    const csv = auditCsv([row({ attribution: { agent: '=HYPERLINK("x")', tool: 'a,b' } })]);
    expect(csv).toContain(`"'=HYPERLINK(""x"")"`);
    expect(csv).toContain('"a,b"');
  });

  it('writes JSONL as one parseable record per line', () => {
    const text = auditJsonl([row({ seq: 1 }), row({ seq: 2 })]);
    expect(text.trim().split('\n').map((l) => JSON.parse(l).seq)).toEqual([1, 2]);
    expect(auditJsonl([])).toBe('');
  });
});
