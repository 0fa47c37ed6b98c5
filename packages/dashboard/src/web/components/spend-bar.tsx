import { usd } from '../format.ts';

/** Today's spend against the daily cap; amber from 75 %, red from 90 % ("near the cap"). */
export function spendLevel(spent: number, cap: number | null): 'ok' | 'warn' | 'danger' | 'none' {
  if (cap === null) return 'none';
  if (cap === 0) return spent > 0 ? 'danger' : 'ok';
  const ratio = spent / cap;
  return ratio >= 0.9 ? 'danger' : ratio >= 0.75 ? 'warn' : 'ok';
}

export function SpendBar({ spent, cap }: { spent: number; cap: number | null }) {
  const level = spendLevel(spent, cap);
  const pct = cap === null ? 0 : cap === 0 ? (spent > 0 ? 100 : 0) : Math.min(100, (spent / cap) * 100);
  return (
    <div class={`spend spend-${level}`} data-level={level} title="today's spend (UTC day), including child keys, against the daily cap">
      <div class="spend-figures">
        <span class="spend-amount">{usd(spent)}</span>
        <span class="muted">{cap === null ? ' · no daily cap' : ` / ${usd(cap)}`}</span>
      </div>
      {cap !== null && (
        <div class="spend-track" role="meter" aria-valuemin={0} aria-valuemax={cap} aria-valuenow={spent} aria-label="today's spend against the daily cap">
          <div class="spend-fill" style={{ width: `${pct}%` }} />
        </div>
      )}
    </div>
  );
}
