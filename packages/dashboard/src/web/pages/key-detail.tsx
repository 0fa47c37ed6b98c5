import { useState } from 'preact/hooks';
import { auditApi, keysApi } from '../api.ts';
import { AuditTable } from '../components/audit-table.tsx';
import { Countdown, MetadataChips, StatusBadge } from '../components/badges.tsx';
import { DailyBarChart } from '../components/charts.tsx';
import { ErrorBox } from '../components/error-box.tsx';
import { descendantsOf, KeyTreeTable } from '../components/key-tree.tsx';
import { RevokeDialog } from '../components/revoke-dialog.tsx';
import { RulesList } from '../components/rules-list.tsx';
import { SpendBar } from '../components/spend-bar.tsx';
import { addDays, daysBetween, usd, utcDay, utcTime } from '../format.ts';
import { useLoad, useNow } from '../hooks.ts';
import { href } from '../router.ts';

const CHART_DAYS = 30;

export function KeyDetailPage({ id }: { id: string }) {
  const now = useNow(1000);
  const key = useLoad(() => keysApi.get(id), [id], 5000);
  const tree = useLoad(() => keysApi.tree(id), [id], 5000);
  const to = utcDay(now);
  const from = addDays(to, -(CHART_DAYS - 1));
  const days = useLoad(() => keysApi.spendByDay(id, from, to), [id, from, to], 10000);
  const calls = useLoad(() => auditApi.query({ vault_key_id: id }, { limit: 20 }), [id], 3000);
  const [revoking, setRevoking] = useState(false);

  if (key.error && !key.data) return <ErrorBox error={key.error} title={`Could not load key ${id}`} />;
  const k = key.data;
  if (!k) return <p class="empty">Loading…</p>;
  const p = k.policy;
  const subtree = tree.data ?? [k];
  const byDay = new Map((days.data?.data ?? []).map((d) => [d.day, d.usd]));
  const series = daysBetween(from, to).map((day) => ({ day, usd: byDay.get(day) ?? 0 }));

  return (
    <section>
      <div class="page-head">
        <div>
          <p class="crumbs"><a href={href.keys()}>Vault keys</a> / {k.parent_id && <><a class="mono" href={href.key(k.parent_id)}>{k.parent_id}</a> / </>}</p>
          <h1 class="mono">{k.id} <StatusBadge status={k.status} /></h1>
          <p class="muted">
            {p.vendor} · {k.depth === 0 ? 'root key' : `child key at depth ${k.depth}`} · created {utcTime(k.created_at)} UTC
          </p>
        </div>
        <div class="head-actions">
          <a class="btn" href={href.audit({ vault_key_id: k.id })}>Audit stream</a>
          {k.status === 'active' && <button type="button" class="btn btn-danger" onClick={() => setRevoking(true)}>Revoke…</button>}
        </div>
      </div>

      <div class="grid-2">
        <div class="card">
          <h2>Policy</h2>
          <dl class="policy">
            <dt>Vendor</dt><dd>{p.vendor}</dd>
            <dt>Daily cap</dt><dd>{p.daily_usd_cap === null ? 'none' : usd(p.daily_usd_cap)}</dd>
            <dt>Total cap</dt><dd>{p.total_usd_cap === null ? 'none' : usd(p.total_usd_cap)}</dd>
            <dt>Endpoints</dt>
            <dd>
              <ul class="plain">
                {p.allowed_endpoints.map((e) => (
                  <li key={e} class="mono">{e}</li>
                ))}
              </ul>
            </dd>
            <dt>Expires</dt><dd>{utcTime(p.expires_at)} UTC · <Countdown expiresAt={k.expires_at} status={k.status} now={now} /></dd>
            <dt>Rate limit</dt><dd>{p.rate_limit ? `${p.rate_limit.requests_per_minute} requests / minute` : 'none'}</dd>
            <dt>Metadata</dt><dd><MetadataChips metadata={p.metadata} /></dd>
            {Object.keys(p.unpriced).length > 0 && (
              <>
                <dt>Unpriced</dt>
                <dd>
                  <ul class="plain">
                    {Object.entries(p.unpriced).map(([pattern, price]) => (
                      <li key={pattern}><span class="mono">{pattern}</span> = {price === 'free' ? 'free' : usd(price)}</li>
                    ))}
                  </ul>
                </dd>
              </>
            )}
            {p.twilio && (
              <>
                <dt>Twilio pricing</dt>
                <dd>
                  <ul class="plain">
                    <li>call time limit: {p.twilio.default_call_time_limit_seconds === null ? 'not set' : `${p.twilio.default_call_time_limit_seconds} s`}</li>
                    <li>fallback SMS: {p.twilio.fallback_sms_usd_per_segment === null ? 'not set' : `${usd(p.twilio.fallback_sms_usd_per_segment)} / segment`}</li>
                    <li>fallback MMS: {p.twilio.fallback_mms_usd_per_message === null ? 'not set' : `${usd(p.twilio.fallback_mms_usd_per_message)} / message`}</li>
                    <li>fallback voice: {p.twilio.fallback_voice_usd_per_minute === null ? 'not set' : `${usd(p.twilio.fallback_voice_usd_per_minute)} / minute`}</li>
                  </ul>
                </dd>
              </>
            )}
            {(p.rules ?? []).length > 0 && (<><dt>Rules</dt><dd><RulesList rules={p.rules} /></dd></>)}
            {p.stripe_accounts.length > 0 && (<><dt>Stripe accounts</dt><dd class="mono">{p.stripe_accounts.join(', ')}</dd></>)}
            {k.revoked_at && (<><dt>Revoked</dt><dd>{utcTime(k.revoked_at)} UTC</dd></>)}
          </dl>
        </div>
        <div class="card">
          <h2>Spend</h2>
          <div class="stat-row">
            <div class="stat">
              <div class="stat-label">Today (UTC)</div>
              <SpendBar spent={k.spend?.today_usd ?? 0} cap={p.daily_usd_cap} />
            </div>
            <div class="stat">
              <div class="stat-label">Lifetime</div>
              <div class="stat-value">{usd(k.spend?.total_usd ?? 0)}</div>
              <div class="muted small">{p.total_usd_cap === null ? 'no total cap' : `of ${usd(p.total_usd_cap)}`}</div>
            </div>
          </div>
          <h3>Per day, last {CHART_DAYS} days</h3>
          <DailyBarChart days={series} cap={p.daily_usd_cap} label={`spend per day of ${k.id}`} />
          <p class="muted small">Includes the spend of child keys, as the caps do.</p>
        </div>
      </div>

      <div class="card card-flush">
        <h2 class="card-title">Subtree <span class="muted">({subtree.length} key{subtree.length === 1 ? '' : 's'})</span></h2>
        <KeyTreeTable keys={subtree} now={now} highlight={k.id} />
      </div>

      <div class="card card-flush">
        <h2 class="card-title">Last calls</h2>
        {calls.error && <ErrorBox error={calls.error} />}
        {calls.data && calls.data.length === 0 ? <p class="empty">No calls with this key yet.</p> : <AuditTable rows={calls.data ?? []} compact />}
      </div>

      {revoking && (
        <RevokeDialog
          target={k}
          descendants={descendantsOf(k.id, subtree)}
          onClose={(revoked) => {
            setRevoking(false);
            if (revoked) {
              key.reload();
              tree.reload();
            }
          }}
        />
      )}
    </section>
  );
}
