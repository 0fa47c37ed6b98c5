import type { AuditJson } from '../api.ts';
import { usd, utcTime } from '../format.ts';
import { href } from '../router.ts';
import { DecisionBadge } from './badges.tsx';

function Attribution({ row }: { row: AuditJson }) {
  const { agent, tool, run_id: runId, tool_call_id: callId } = row.attribution;
  if (!agent && !tool && !runId) return <span class="muted">—</span>;
  return (
    <span title={[runId && `run ${runId}`, callId && `tool call ${callId}`].filter(Boolean).join(' · ')}>
      {agent ?? <span class="muted">?</span>}
      {tool && <span class="muted"> · </span>}
      {tool && <span class="mono">{tool}</span>}
    </span>
  );
}

export function AuditTable({ rows, compact = false, fresh }: { rows: AuditJson[]; compact?: boolean; fresh?: Set<number> }) {
  return (
    <table class="table audit-table">
      <thead>
        <tr>
          <th>Time (UTC)</th>
          {!compact && <th>Key</th>}
          <th>Decision</th>
          <th>Request</th>
          <th class="num">Status</th>
          <th class="num">Cost</th>
          <th>Upstream request</th>
          <th>Agent · tool</th>
          {!compact && <th>Role · customer</th>}
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={row.seq} data-seq={row.seq} data-decision={row.decision} class={fresh?.has(row.seq) ? 'row-fresh' : ''}>
            <td class="nowrap" title={`seq ${row.seq}`}>
              {utcTime(row.at).slice(11)}
              <div class="muted small">{row.at.slice(0, 10)}</div>
            </td>
            {!compact && (
              <td>{row.vault_key_id ? <a class="mono" href={href.key(row.vault_key_id)}>{row.vault_key_id}</a> : <span class="muted">unknown key</span>}</td>
            )}
            <td>
              <DecisionBadge decision={row.decision} />
              {row.reason && <div class="reason mono">{row.reason}</div>}
            </td>
            <td class="request">
              <span class="nowrap"><span class="method">{row.method}</span> <span class="mono">{row.path}</span></span>
              <div class="muted small">{row.vendor}</div>
            </td>
            <td class="num">{row.status}</td>
            <td class="num" title={`reserved ${usd(row.reserved_usd)}`}>{usd(row.settled_usd)}</td>
            <td class="mono small">{row.upstream_request_id ?? <span class="muted">—</span>}</td>
            <td><Attribution row={row} /></td>
            {!compact && (
              <td class="small">
                {row.metadata.role ?? <span class="muted">—</span>}
                {row.metadata.customer_id && <div class="muted mono">{row.metadata.customer_id}</div>}
              </td>
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
