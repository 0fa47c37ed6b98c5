import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiFailure, auditApi, type AuditJson, type AuditQuery } from '../api.ts';
import { AuditTable } from '../components/audit-table.tsx';
import { ErrorBox } from '../components/error-box.tsx';
import { auditCsv, auditJsonl, download } from '../export.ts';

const POLL_MS = 2000;
const KEEP_ROWS = 500;
const EXPORT_LIMIT = 10_000;

function queryFrom(params: URLSearchParams): Required<AuditQuery> {
  const decision = params.get('decision');
  return {
    vault_key_id: params.get('vault_key_id') ?? '',
    role: params.get('role') ?? '',
    customer: params.get('customer') ?? '',
    decision: decision === 'allowed' || decision === 'refused' ? decision : '',
  };
}

/** The latest calls, newest first; polls for rows after the newest seq it holds. */
export function AuditPage({ params }: { params: URLSearchParams }) {
  const [draft, setDraft] = useState(() => queryFrom(params));
  const [query, setQuery] = useState(draft);
  const [rows, setRows] = useState<AuditJson[] | undefined>();
  const [fresh, setFresh] = useState<Set<number>>(new Set());
  const [live, setLive] = useState(true);
  const [error, setError] = useState<ApiFailure | undefined>();
  const [exporting, setExporting] = useState(false);
  const newest = useRef(0);

  // text filters apply after a short pause in typing; selects apply at once
  useEffect(() => {
    const timer = setTimeout(() => setQuery(draft), 300);
    return () => clearTimeout(timer);
  }, [draft]);

  useEffect(() => {
    let live = true;
    setRows(undefined);
    newest.current = 0;
    auditApi
      .query(query, { limit: 200 })
      .then((data) => {
        if (!live) return;
        setRows(data);
        setError(undefined);
        newest.current = data[0]?.seq ?? 0;
      })
      .catch((e: unknown) => live && setError(e instanceof ApiFailure ? e : new ApiFailure(0, 'network', String(e))));
    return () => {
      live = false;
    };
  }, [query]);

  useEffect(() => {
    if (!live) return;
    let stopped = false;
    const timer = setInterval(async () => {
      if (rows === undefined) return;
      try {
        const data = await auditApi.query(query, { after_seq: newest.current, limit: KEEP_ROWS });
        if (stopped || data.length === 0) return;
        newest.current = Math.max(newest.current, data[0]!.seq);
        setRows((old) => [...data, ...(old ?? [])].slice(0, KEEP_ROWS));
        setFresh(new Set(data.map((r) => r.seq)));
        setError(undefined);
      } catch (e) {
        if (!stopped) setError(e instanceof ApiFailure ? e : new ApiFailure(0, 'network', String(e)));
      }
    }, POLL_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [live, query, rows === undefined]);

  const exportRows = async (format: 'csv' | 'jsonl') => {
    setExporting(true);
    try {
      const all = await auditApi.query(query, { limit: EXPORT_LIMIT });
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      if (format === 'csv') download(`keyleash-audit-${stamp}.csv`, 'text/csv', auditCsv(all));
      else download(`keyleash-audit-${stamp}.jsonl`, 'application/x-ndjson', auditJsonl(all));
    } catch (e) {
      setError(e instanceof ApiFailure ? e : new ApiFailure(0, 'network', String(e)));
    } finally {
      setExporting(false);
    }
  };

  const set = (patch: Partial<AuditQuery>) => setDraft((d) => ({ ...d, ...patch }));
  const refused = rows?.filter((r) => r.decision === 'refused').length ?? 0;

  return (
    <section>
      <div class="page-head">
        <div>
          <h1>Audit stream</h1>
          <p class="muted">
            Every proxied or refused vendor call, newest first.{' '}
            {rows && `${rows.length} shown${rows.length >= KEEP_ROWS ? ` (the latest ${KEEP_ROWS})` : ''} · ${refused} refused`}
          </p>
        </div>
        <div class="head-actions">
          <button type="button" class={`btn live-toggle${live ? ' is-live' : ''}`} onClick={() => setLive((l) => !l)} aria-pressed={live}>
            <span class="live-dot" aria-hidden="true" />
            {live ? 'Live' : 'Paused'}
          </button>
          <button type="button" class="btn" onClick={() => exportRows('csv')} disabled={exporting}>Export CSV</button>
          <button type="button" class="btn" onClick={() => exportRows('jsonl')} disabled={exporting}>Export JSONL</button>
        </div>
      </div>

      <div class="toolbar" role="search">
        <label>
          Key
          <input type="search" class="mono" placeholder="key id" value={draft.vault_key_id} onInput={(e) => set({ vault_key_id: e.currentTarget.value.trim() })} name="vault_key_id" />
        </label>
        <label>
          Role
          <input type="search" placeholder="metadata.role" value={draft.role} onInput={(e) => set({ role: e.currentTarget.value.trim() })} name="role" />
        </label>
        <label>
          Customer
          <input type="search" placeholder="metadata.customer_id" value={draft.customer} onInput={(e) => set({ customer: e.currentTarget.value.trim() })} name="customer" />
        </label>
        <label>
          Decision
          <select value={draft.decision} onChange={(e) => set({ decision: e.currentTarget.value as AuditQuery['decision'] })} name="decision">
            <option value="">all</option>
            <option value="allowed">allowed</option>
            <option value="refused">refused</option>
          </select>
        </label>
      </div>

      {error && <ErrorBox error={error} title="Could not read the audit log" />}
      <div class="card card-flush">
        {rows === undefined ? (
          <p class="empty">Loading…</p>
        ) : rows.length === 0 ? (
          <p class="empty">No calls match{live ? ' yet; new ones appear here as they happen' : ''}.</p>
        ) : (
          <AuditTable rows={rows} fresh={fresh} />
        )}
      </div>
    </section>
  );
}
