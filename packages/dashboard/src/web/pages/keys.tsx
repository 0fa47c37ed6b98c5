import { useMemo, useState } from 'preact/hooks';
import { keysApi, type KeyJson, type KeyStatus } from '../api.ts';
import { ErrorBox } from '../components/error-box.tsx';
import { descendantsOf, KeyTreeTable } from '../components/key-tree.tsx';
import { RevokeDialog } from '../components/revoke-dialog.tsx';
import { useLoad, useNow } from '../hooks.ts';
import { href } from '../router.ts';

interface Filters {
  vendor: string;
  status: '' | KeyStatus;
  field: string;
  value: string;
}

function matches(key: KeyJson, f: Filters): boolean {
  if (f.vendor && key.policy.vendor !== f.vendor) return false;
  if (f.status && key.status !== f.status) return false;
  if (f.field && f.value.trim()) {
    const have = key.policy.metadata[f.field];
    if (have === undefined || !have.toLowerCase().includes(f.value.trim().toLowerCase())) return false;
  }
  return true;
}

export function KeysPage() {
  const now = useNow(1000);
  const keys = useLoad(() => keysApi.list(), [], 5000);
  const [filters, setFilters] = useState<Filters>({ vendor: '', status: '', field: 'role', value: '' });
  const [revoking, setRevoking] = useState<KeyJson | undefined>();
  const all = keys.data ?? [];

  const vendors = useMemo(() => [...new Set(all.map((k) => k.policy.vendor))].sort(), [all]);
  const fields = useMemo(() => [...new Set(['role', 'customer_id', 'run_id', ...all.flatMap((k) => Object.keys(k.policy.metadata))])].sort(), [all]);

  // a match is shown with its ancestors (dimmed) so the tree keeps its shape
  const { shown, context } = useMemo(() => {
    const byId = new Map(all.map((k) => [k.id, k]));
    const matched = all.filter((k) => matches(k, filters));
    const ids = new Set(matched.map((k) => k.id));
    const ctx = new Set<string>();
    for (const key of matched) {
      for (let parent = key.parent_id; parent !== null && !ids.has(parent); parent = byId.get(parent)?.parent_id ?? null) {
        if (!byId.has(parent)) break;
        ctx.add(parent);
        ids.add(parent);
      }
    }
    return { shown: all.filter((k) => ids.has(k.id)), context: ctx };
  }, [all, filters]);

  const set = (patch: Partial<Filters>) => setFilters((f) => ({ ...f, ...patch }));
  const counts = { active: all.filter((k) => k.status === 'active').length, trees: all.filter((k) => k.parent_id === null).length };
  const filtered = filters.vendor !== '' || filters.status !== '' || filters.value.trim() !== '';

  return (
    <section>
      <div class="page-head">
        <div>
          <h1>Vault keys</h1>
          <p class="muted">
            {all.length} keys in {counts.trees} trees · {counts.active} active · spend is today's (UTC), including child keys
          </p>
        </div>
        <a class="btn btn-primary" href={href.issue()}>Issue a key</a>
      </div>

      <div class="toolbar" role="search">
        <label>
          Vendor
          <select value={filters.vendor} onChange={(e) => set({ vendor: e.currentTarget.value })} name="vendor">
            <option value="">all</option>
            {vendors.map((v) => (
              <option key={v} value={v}>{v}</option>
            ))}
          </select>
        </label>
        <label>
          Status
          <select value={filters.status} onChange={(e) => set({ status: e.currentTarget.value as Filters['status'] })} name="status">
            <option value="">all</option>
            <option value="active">active</option>
            <option value="expired">expired</option>
            <option value="revoked">revoked</option>
          </select>
        </label>
        <label>
          Metadata
          <span class="joined">
            <select value={filters.field} onChange={(e) => set({ field: e.currentTarget.value })} name="metadata-field" aria-label="metadata field">
              {fields.map((f) => (
                <option key={f} value={f}>{f}</option>
              ))}
            </select>
            <input type="search" placeholder="contains…" value={filters.value} onInput={(e) => set({ value: e.currentTarget.value })} name="metadata-value" aria-label="metadata value" />
          </span>
        </label>
        {filtered && (
          <button type="button" class="btn btn-link" onClick={() => setFilters({ vendor: '', status: '', field: filters.field, value: '' })}>
            Clear filters
          </button>
        )}
        <span class="toolbar-spacer" />
        <button type="button" class="btn" onClick={keys.reload}>Refresh</button>
      </div>

      {keys.error && <ErrorBox error={keys.error} title="Could not load the keys" />}
      <div class="card card-flush">
        {keys.data === undefined ? (
          <p class="empty">Loading…</p>
        ) : shown.length === 0 ? (
          <p class="empty">{all.length === 0 ? 'No keys yet. Issue one to get started.' : 'No key matches these filters.'}</p>
        ) : (
          <KeyTreeTable keys={shown} now={now} context={context} onRevoke={setRevoking} />
        )}
      </div>

      {revoking && (
        <RevokeDialog
          target={revoking}
          descendants={descendantsOf(revoking.id, all)}
          onClose={(revoked) => {
            setRevoking(undefined);
            if (revoked) keys.reload();
          }}
        />
      )}
    </section>
  );
}
