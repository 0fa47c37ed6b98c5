import { alertsApi, type AlertJson } from '../api.ts';
import { ErrorBox } from '../components/error-box.tsx';
import { utcTime } from '../format.ts';
import { useLoad } from '../hooks.ts';
import { href } from '../router.ts';

function what(alert: AlertJson): string {
  if (alert.kind === 'spend_threshold') {
    const data = alert.payload.data as { spent_usd_today?: number; daily_usd_cap?: number };
    return `${Math.round((alert.threshold ?? 0) * 100)} % of the daily cap crossed ($${data.spent_usd_today} of $${data.daily_usd_cap})`;
  }
  return 'a call is waiting for approval';
}

/** Recorded alerts (spend thresholds, approvals waiting) and whether their webhook got them. */
export function AlertsPage() {
  const alerts = useLoad(() => alertsApi.list(), [], 5000);
  return (
    <section>
      <h1>Alerts</h1>
      {alerts.error && <ErrorBox error={alerts.error} title="Could not load alerts" />}
      <div class="card">
        <table class="table" data-testid="alerts">
          <thead>
            <tr><th>When (UTC)</th><th>Key</th><th>What</th><th>Delivery</th></tr>
          </thead>
          <tbody>
            {(alerts.data ?? []).map((alert) => (
              <tr key={alert.id} data-alert-id={alert.id}>
                <td>{utcTime(alert.created_at)}</td>
                <td class="mono"><a href={href.key(alert.vault_key_id)}>{alert.vault_key_id}</a></td>
                <td>{what(alert)}</td>
                <td title={alert.last_error ?? ''}>
                  {alert.status}
                  {alert.attempts > 0 && <span class="muted"> · {alert.attempts} attempt{alert.attempts === 1 ? '' : 's'}</span>}
                </td>
              </tr>
            ))}
            {alerts.data?.length === 0 && (
              <tr><td colSpan={4} class="muted">No alerts yet. Give a key "alerts" (or run serve with --alert-thresholds) to be told when its spend crosses a share of its daily cap.</td></tr>
            )}
          </tbody>
        </table>
      </div>
    </section>
  );
}
