import { useState } from 'preact/hooks';
import { ApiFailure, approvalsApi, type ApprovalJson } from '../api.ts';
import { ErrorBox } from '../components/error-box.tsx';
import { usd, utcTime } from '../format.ts';
import { useLoad, useNow } from '../hooks.ts';
import { href } from '../router.ts';

/** Calls held for a human: the pending ones with Approve / Deny, the recently decided ones below. */
export function ApprovalsPage() {
  const now = useNow(1000);
  const approvals = useLoad(() => approvalsApi.list(), [], 2000);
  const [busy, setBusy] = useState<string | undefined>();
  const [error, setError] = useState<ApiFailure | undefined>();
  const all = approvals.data ?? [];
  const pending = all.filter((a) => a.status === 'pending');
  const decided = all.filter((a) => a.status !== 'pending').slice(0, 50);

  const decide = async (approval: ApprovalJson, verdict: 'approve' | 'deny') => {
    setBusy(approval.id);
    setError(undefined);
    try {
      await approvalsApi.decide(approval.id, verdict);
    } catch (e) {
      setError(e instanceof ApiFailure ? e : new ApiFailure(0, 'network', String(e)));
    } finally {
      setBusy(undefined);
      approvals.reload();
    }
  };

  const rows = (list: ApprovalJson[], actions: boolean) =>
    list.map((a) => (
      <tr key={a.id} data-approval-id={a.id} data-status={a.status}>
        <td class="mono">{a.id}</td>
        <td class="mono"><a href={href.key(a.vault_key_id)}>{a.vault_key_id}</a></td>
        <td class="mono">{a.method} {a.path}</td>
        <td>{usd(a.amount_usd)}</td>
        <td>{actions ? `${Math.max(0, Math.ceil((Date.parse(a.expires_at) - now) / 1000))} s left` : `${a.status}${a.decided_at ? ` · ${utcTime(a.decided_at)}` : ''}`}</td>
        {actions && (
          <td>
            <button type="button" class="btn btn-primary" disabled={busy === a.id} onClick={() => decide(a, 'approve')}>Approve</button>{' '}
            <button type="button" class="btn btn-danger-outline" disabled={busy === a.id} onClick={() => decide(a, 'deny')}>Deny</button>
          </td>
        )}
      </tr>
    ));

  return (
    <section>
      <h1>Approvals</h1>
      {(error ?? approvals.error) && <ErrorBox error={(error ?? approvals.error)!} title="Could not load or decide approvals" />}
      <div class="card">
        <h2>Waiting ({pending.length})</h2>
        <table class="table" data-testid="pending-approvals">
          <thead><tr><th>Approval</th><th>Key</th><th>Call</th><th>Amount</th><th>Time left</th><th /></tr></thead>
          <tbody>
            {rows(pending, true)}
            {pending.length === 0 && <tr><td colSpan={6} class="muted">No call is waiting. Calls above a key's "approval.above_usd" wait here.</td></tr>}
          </tbody>
        </table>
      </div>
      <div class="card">
        <h2>Decided</h2>
        <table class="table" data-testid="decided-approvals">
          <thead><tr><th>Approval</th><th>Key</th><th>Call</th><th>Amount</th><th>Outcome</th></tr></thead>
          <tbody>{rows(decided, false)}</tbody>
        </table>
      </div>
    </section>
  );
}
