import { useState } from 'preact/hooks';
import { spendApi, type SpendJson } from '../api.ts';
import { GroupBarChart } from '../components/charts.tsx';
import { ErrorBox } from '../components/error-box.tsx';
import { addDays, usd, utcDay } from '../format.ts';
import { useLoad } from '../hooks.ts';
import { href } from '../router.ts';

const GROUPINGS = [
  { value: 'metadata.role', label: 'role' },
  { value: 'metadata.customer_id', label: 'customer' },
  { value: 'vendor', label: 'vendor' },
  { value: 'root', label: 'tree root' },
  { value: 'vault_key', label: 'key' },
] as const;

const linksToKeys = (groupBy: string) => groupBy === 'root' || groupBy === 'vault_key';

function SpendTable({ spend, groupLabel }: { spend: SpendJson; groupLabel: string }) {
  return (
    <table class="table spend-table">
      <thead>
        <tr>
          <th>{groupLabel}</th>
          <th class="num">Spend</th>
          <th class="num">Share</th>
          <th class="num">Requests</th>
        </tr>
      </thead>
      <tbody>
        {spend.data.map((row) => (
          <tr key={row.group ?? '(none)'} data-group={row.group ?? ''}>
            <td>
              {row.group === null ? <span class="muted">(none)</span> : linksToKeys(spend.group_by) ? <a class="mono" href={href.key(row.group)}>{row.group}</a> : row.group}
            </td>
            <td class="num">{usd(row.usd)}</td>
            <td class="num">{spend.total_micros > 0 ? `${((row.micros / spend.total_micros) * 100).toFixed(1)} %` : '—'}</td>
            <td class="num">{row.requests}</td>
          </tr>
        ))}
        {spend.data.length === 0 && (
          <tr>
            <td colSpan={4} class="empty">No spend.</td>
          </tr>
        )}
      </tbody>
    </table>
  );
}

export function SpendPage() {
  const today = utcDay(Date.now());
  const [groupBy, setGroupBy] = useState<string>('metadata.role');
  const [customField, setCustomField] = useState('');
  const [range, setRange] = useState({ from: addDays(today, -6), to: today });
  const effective = groupBy === 'custom' ? (customField.trim() ? `metadata.${customField.trim()}` : 'vault_key') : groupBy;
  const label = GROUPINGS.find((g) => g.value === effective)?.label ?? effective.replace(/^metadata\./, '');

  const todays = useLoad(() => spendApi.grouped(effective, today, today), [effective, today], 5000);
  const ranged = useLoad(() => spendApi.grouped(effective, range.from, range.to), [effective, range.from, range.to], 10000);
  const preset = (days: number) => setRange({ from: addDays(today, -(days - 1)), to: today });

  return (
    <section>
      <div class="page-head">
        <div>
          <h1>Spend</h1>
          <p class="muted">Spend per UTC day, grouped by {label}; a child key’s spend counts in its own group.</p>
        </div>
      </div>

      <div class="toolbar">
        <label>
          Group by
          <select value={groupBy} onChange={(e) => setGroupBy(e.currentTarget.value)} name="group_by">
            {GROUPINGS.map((g) => (
              <option key={g.value} value={g.value}>{g.label}</option>
            ))}
            <option value="custom">metadata field…</option>
          </select>
        </label>
        {groupBy === 'custom' && (
          <label>
            Field
            <input value={customField} onInput={(e) => setCustomField(e.currentTarget.value)} placeholder="run_id" name="field" />
          </label>
        )}
        <label>
          From
          <input type="date" value={range.from} max={range.to} onChange={(e) => e.currentTarget.value && setRange((r) => ({ ...r, from: e.currentTarget.value }))} name="from" />
        </label>
        <label>
          To
          <input type="date" value={range.to} min={range.from} onChange={(e) => e.currentTarget.value && setRange((r) => ({ ...r, to: e.currentTarget.value }))} name="to" />
        </label>
        <span class="segmented">
          <button type="button" class="btn btn-small" onClick={() => preset(1)}>Today</button>
          <button type="button" class="btn btn-small" onClick={() => preset(7)}>7 days</button>
          <button type="button" class="btn btn-small" onClick={() => preset(30)}>30 days</button>
        </span>
      </div>

      <div class="stat-cards">
        <div class="card stat-card" data-testid="spend-today">
          <div class="stat-label">Today · {today}</div>
          <div class="stat-value">{todays.data ? usd(todays.data.total_usd) : '…'}</div>
          <div class="muted small">{todays.data ? `${todays.data.data.reduce((n, r) => n + r.requests, 0)} requests` : ''}</div>
        </div>
        <div class="card stat-card" data-testid="spend-range">
          <div class="stat-label">{range.from} → {range.to}</div>
          <div class="stat-value">{ranged.data ? usd(ranged.data.total_usd) : '…'}</div>
          <div class="muted small">{ranged.data ? `${ranged.data.data.reduce((n, r) => n + r.requests, 0)} requests · ${ranged.data.data.length} group${ranged.data.data.length === 1 ? '' : 's'}` : ''}</div>
        </div>
      </div>

      {(todays.error ?? ranged.error) && <ErrorBox error={(todays.error ?? ranged.error)!} title="Could not load spend" />}

      <div class="card">
        <h2>By {label}, {range.from} → {range.to}</h2>
        {ranged.data && (
          <GroupBarChart label={`spend by ${label}`} rows={ranged.data.data.map((r) => ({ name: r.group ?? '(none)', usd: r.usd }))} />
        )}
      </div>

      <div class="grid-2">
        <div class="card card-flush">
          <h2 class="card-title">Today by {label}</h2>
          {todays.data && <SpendTable spend={todays.data} groupLabel={label} />}
        </div>
        <div class="card card-flush">
          <h2 class="card-title">Range by {label}</h2>
          {ranged.data && <SpendTable spend={ranged.data} groupLabel={label} />}
        </div>
      </div>
    </section>
  );
}
