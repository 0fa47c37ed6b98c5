/** Hand-rolled SVG charts: small, dependency-free, and they scale with their container. */
import { usd } from '../format.ts';

function niceMax(value: number): number {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

/** One bar per day; an optional dashed line at the daily cap. */
export function DailyBarChart({ days, cap, label }: { days: { day: string; usd: number }[]; cap: number | null; label: string }) {
  const width = 560;
  const height = 200;
  const pad = { top: 14, right: 12, bottom: 28, left: 64 };
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  const peak = Math.max(0, ...days.map((d) => d.usd), cap ?? 0);
  const max = niceMax(peak);
  const y = (v: number) => pad.top + innerH - (v / max) * innerH;
  const slot = innerW / Math.max(1, days.length);
  const barW = Math.max(2, slot * 0.7);
  const ticks = [0, max / 2, max];
  const labelEvery = Math.ceil(days.length / 8);
  return (
    <svg class="chart" viewBox={`0 0 ${width} ${height}`} role="img" aria-label={label}>
      {ticks.map((t) => (
        <g key={t}>
          <line class="chart-grid" x1={pad.left} x2={width - pad.right} y1={y(t)} y2={y(t)} />
          <text class="chart-axis" x={pad.left - 8} y={y(t) + 4} text-anchor="end">{usd(t)}</text>
        </g>
      ))}
      {days.map((d, i) => {
        const x = pad.left + i * slot + (slot - barW) / 2;
        const over = cap !== null && d.usd >= cap * 0.9;
        return (
          <g key={d.day}>
            <rect class={`chart-bar${over ? ' chart-bar-danger' : ''}`} x={x} y={y(d.usd)} width={barW} height={Math.max(0, pad.top + innerH - y(d.usd))} rx={2}>
              <title>{`${d.day}: ${usd(d.usd)}`}</title>
            </rect>
            {i % labelEvery === 0 && (
              <text class="chart-axis" x={x + barW / 2} y={height - 8} text-anchor="middle">{d.day.slice(5)}</text>
            )}
          </g>
        );
      })}
      {cap !== null && (
        <g>
          <line class="chart-cap" x1={pad.left} x2={width - pad.right} y1={y(cap)} y2={y(cap)} />
          <text class="chart-cap-label" x={width - pad.right} y={y(cap) - 4} text-anchor="end">daily cap {usd(cap)}</text>
        </g>
      )}
    </svg>
  );
}

/** Horizontal bars, one per group, largest first. */
export function GroupBarChart({ rows, label }: { rows: { name: string; usd: number }[]; label: string }) {
  const width = 1160;
  const rowH = 30;
  const labelW = 200;
  const valueW = 110;
  const height = Math.max(1, rows.length) * rowH + 8;
  const max = Math.max(0, ...rows.map((r) => r.usd)) || 1;
  const barSpace = width - labelW - valueW;
  return (
    <svg class="chart" viewBox={`0 0 ${width} ${height}`} role="img" aria-label={label}>
      {rows.length === 0 && <text class="chart-axis" x={width / 2} y={20} text-anchor="middle">no spend in this range</text>}
      {rows.map((r, i) => {
        const top = 4 + i * rowH;
        const w = Math.max(r.usd > 0 ? 2 : 0, (r.usd / max) * barSpace);
        const name = r.name.length > 28 ? `${r.name.slice(0, 27)}…` : r.name;
        return (
          <g key={r.name}>
            <text class="chart-label" x={labelW - 10} y={top + rowH / 2 + 4} text-anchor="end">{name}</text>
            <rect class={`chart-bar chart-bar-${i % 6}`} x={labelW} y={top + 4} width={w} height={rowH - 8} rx={3} />
            <text class="chart-value" x={labelW + w + 8} y={top + rowH / 2 + 4}>{usd(r.usd)}</text>
          </g>
        );
      })}
    </svg>
  );
}
