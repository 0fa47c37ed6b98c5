import type { KeyStatus } from '../api.ts';
import { span } from '../format.ts';

export function StatusBadge({ status }: { status: KeyStatus }) {
  return <span class={`badge badge-${status}`} data-status={status}>{status}</span>;
}

export function DecisionBadge({ decision }: { decision: 'allowed' | 'refused' }) {
  return <span class={`badge badge-${decision}`}>{decision}</span>;
}

export function Countdown({ expiresAt, status, now }: { expiresAt: string; status: KeyStatus; now: number }) {
  const left = Date.parse(expiresAt) - now;
  const title = `expires ${expiresAt}`;
  if (status === 'revoked') return <span class="muted" title={title}>—</span>;
  if (left <= 0) return <span class="countdown countdown-over" title={title}>expired {span(-left)} ago</span>;
  return <span class={`countdown${left < 3_600_000 ? ' countdown-soon' : ''}`} title={title}>in {span(left)}</span>;
}

export function MetadataChips({ metadata }: { metadata: Record<string, string> }) {
  const entries = Object.entries(metadata);
  if (entries.length === 0) return <span class="muted">—</span>;
  return (
    <span class="chips">
      {entries.map(([name, value]) => (
        <span class="chip" key={name}>
          <span class="chip-name">{name}</span>
          {value}
        </span>
      ))}
    </span>
  );
}
