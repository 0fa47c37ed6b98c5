import { useMemo, useState } from 'preact/hooks';
import { ApiFailure, keysApi, type IssuedKeyJson } from '../api.ts';
import { ErrorBox } from '../components/error-box.tsx';
import { usd, utcTime } from '../format.ts';
import { EMPTY_FORM, validate, type IssueForm } from '../issue-form.ts';
import { href } from '../router.ts';

const ENDPOINT_HINT: Record<IssueForm['vendor'], string> = {
  stripe: 'POST /v1/payment_intents\nGET /v1/customers/*',
  twilio: 'POST /2010-04-01/Accounts/*/Messages.json',
};

const TWILIO_FIELDS: [keyof IssueForm['twilio'], string][] = [
  ['callTimeLimitSeconds', 'default call time limit (seconds)'],
  ['smsPerSegment', 'fallback SMS, USD per segment'],
  ['mmsPerMessage', 'fallback MMS, USD per message'],
  ['voicePerMinute', 'fallback voice, USD per minute'],
];

function FieldProblems({ problems }: { problems: string[] | undefined }) {
  if (!problems?.length) return null;
  return (
    <ul class="field-problems">
      {problems.map((p) => (
        <li key={p}>{p}</li>
      ))}
    </ul>
  );
}

/** The vault key, shown once: it is not stored in the browser and the API never shows it again. */
function IssuedPanel({ issued, onAnother }: { issued: IssuedKeyJson; onAnother: () => void }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(issued.vault_key);
      setCopied(true);
    } catch {
      setCopied(false);
    }
  };
  return (
    <div class="card issued" role="status">
      <h2>Key issued: <span class="mono">{issued.id}</span></h2>
      <p class="warning">Copy the vault key now. It is shown once: keyleash keeps only a hash of its secret.</p>
      <div class="secret-row">
        <code class="secret" data-testid="issued-vault-key">{issued.vault_key}</code>
        <button type="button" class="btn" onClick={copy}>{copied ? 'Copied' : 'Copy'}</button>
      </div>
      <p class="muted">
        {issued.policy.vendor} · daily cap {issued.policy.daily_usd_cap === null ? 'none' : usd(issued.policy.daily_usd_cap)} · expires {utcTime(issued.expires_at)} UTC
      </p>
      <div class="dialog-actions">
        <a class="btn" href={href.key(issued.id)}>Open the key</a>
        <button type="button" class="btn btn-primary" onClick={onAnother}>Issue another</button>
      </div>
    </div>
  );
}

export function IssuePage() {
  const [form, setForm] = useState<IssueForm>(EMPTY_FORM);
  const [touched, setTouched] = useState<Set<string>>(new Set());
  const [attempted, setAttempted] = useState(false);
  const [busy, setBusy] = useState(false);
  const [apiError, setApiError] = useState<ApiFailure | undefined>();
  const [issued, setIssued] = useState<IssuedKeyJson | undefined>();
  const validation = useMemo(() => validate(form), [form]);

  const set = (patch: Partial<IssueForm>) => setForm((f) => ({ ...f, ...patch }));
  const touch = (field: string) => () => setTouched((t) => (t.has(field) ? t : new Set(t).add(field)));
  const problems = (field: string) => (attempted || touched.has(field) ? validation.byField.get(field) : undefined);
  const invalid = (field: string) => (problems(field)?.length ? 'invalid' : '');

  const submit = async (event: Event) => {
    event.preventDefault();
    setAttempted(true);
    setApiError(undefined);
    if (!validation.ok) return;
    setBusy(true);
    try {
      setIssued(await keysApi.issue(validation.body));
      setForm(EMPTY_FORM);
      setTouched(new Set());
      setAttempted(false);
    } catch (e) {
      setApiError(e instanceof ApiFailure ? e : new ApiFailure(0, 'network', String(e)));
    } finally {
      setBusy(false);
    }
  };

  if (issued) return <section><div class="page-head"><h1>Issue a vault key</h1></div><IssuedPanel issued={issued} onAnother={() => setIssued(undefined)} /></section>;

  return (
    <section>
      <div class="page-head">
        <div>
          <h1>Issue a vault key</h1>
          <p class="muted">A root key for one agent role. Checked with the same schema as <span class="mono">POST /api/vault_keys</span> as you type.</p>
        </div>
      </div>
      <form class="card issue-form" onSubmit={submit} noValidate>
        <div class="form-grid">
          <label class="field">
            <span class="field-label">Vendor</span>
            <select name="vendor" value={form.vendor} onChange={(e) => set({ vendor: e.currentTarget.value as IssueForm['vendor'] })}>
              <option value="stripe">stripe</option>
              <option value="twilio">twilio</option>
            </select>
            <FieldProblems problems={problems('vendor')} />
          </label>

          <div class="field">
            <label class="field-label" for="daily_usd_cap">Daily cap (USD)</label>
            <input id="daily_usd_cap" name="daily_usd_cap" inputMode="decimal" class={invalid('daily_usd_cap')} placeholder="50" value={form.dailyCap} disabled={form.noDailyCap}
              onInput={(e) => set({ dailyCap: e.currentTarget.value })} onBlur={touch('daily_usd_cap')} />
            <label class="check">
              <input type="checkbox" name="no_daily_cap" checked={form.noDailyCap} onChange={(e) => set({ noDailyCap: e.currentTarget.checked })} /> no daily cap (read-only agents)
            </label>
            <FieldProblems problems={problems('daily_usd_cap')} />
          </div>

          <div class="field">
            <label class="field-label" for="total_usd_cap">Total cap (USD, optional)</label>
            <input id="total_usd_cap" name="total_usd_cap" inputMode="decimal" class={invalid('total_usd_cap')} placeholder="none" value={form.totalCap}
              onInput={(e) => set({ totalCap: e.currentTarget.value })} onBlur={touch('total_usd_cap')} />
            <FieldProblems problems={problems('total_usd_cap')} />
          </div>

          <div class="field">
            <span class="field-label">Expiry</span>
            <span class="segmented">
              <label class="check"><input type="radio" name="expiry_mode" checked={form.expiryMode === 'in'} onChange={() => set({ expiryMode: 'in' })} /> expires in</label>
              <label class="check"><input type="radio" name="expiry_mode" checked={form.expiryMode === 'at'} onChange={() => set({ expiryMode: 'at' })} /> expires at</label>
            </span>
            {form.expiryMode === 'in' ? (
              <input name="expires_in" aria-label="expires in" class={invalid('expires_in')} placeholder="24h" value={form.expiresIn}
                onInput={(e) => set({ expiresIn: e.currentTarget.value })} onBlur={touch('expires_in')} />
            ) : (
              <input type="datetime-local" name="expires_at" aria-label="expires at" class={invalid('expires_at')} value={form.expiresAt}
                onInput={(e) => set({ expiresAt: e.currentTarget.value })} onBlur={touch('expires_at')} />
            )}
            <FieldProblems problems={[...(problems('expires_in') ?? []), ...(problems('expires_at') ?? [])]} />
          </div>

          <div class="field">
            <label class="field-label" for="rate_limit">Rate limit (requests / minute, optional)</label>
            <input id="rate_limit" name="rate_limit" inputMode="numeric" class={invalid('rate_limit')} placeholder="none" value={form.rateLimit}
              onInput={(e) => set({ rateLimit: e.currentTarget.value })} onBlur={touch('rate_limit')} />
            <FieldProblems problems={problems('rate_limit')} />
          </div>

          <div class="field field-wide">
            <label class="field-label" for="allowed_endpoints">Allowed endpoints <span class="muted">(one "METHOD /path" per line; * is one segment, ** the rest)</span></label>
            <textarea id="allowed_endpoints" name="allowed_endpoints" rows={4} class={`mono ${invalid('allowed_endpoints')}`} placeholder={ENDPOINT_HINT[form.vendor]} value={form.endpoints}
              onInput={(e) => set({ endpoints: e.currentTarget.value })} onBlur={touch('allowed_endpoints')} />
            <FieldProblems problems={problems('allowed_endpoints')} />
          </div>

          <div class="field field-wide">
            <span class="field-label">Metadata <span class="muted">(attribution: role, customer, run, …)</span></span>
            {form.metadata.map((row, i) => (
              <div class="meta-row" key={i}>
                <input aria-label={`metadata field ${i + 1}`} name={`metadata_name_${i}`} class="mono" placeholder="field" value={row.name}
                  onInput={(e) => set({ metadata: form.metadata.map((m, j) => (j === i ? { ...m, name: e.currentTarget.value } : m)) })} onBlur={touch('metadata')} />
                <input aria-label={`metadata value ${i + 1}`} name={`metadata_value_${i}`} placeholder="value" value={row.value}
                  onInput={(e) => set({ metadata: form.metadata.map((m, j) => (j === i ? { ...m, value: e.currentTarget.value } : m)) })} onBlur={touch('metadata')} />
                <button type="button" class="btn btn-small btn-link" aria-label="remove field" onClick={() => set({ metadata: form.metadata.filter((_, j) => j !== i) })}>×</button>
              </div>
            ))}
            <button type="button" class="btn btn-small btn-start" onClick={() => set({ metadata: [...form.metadata, { name: '', value: '' }] })}>Add field</button>
            <FieldProblems problems={problems('metadata')} />
          </div>

          <details class="field field-wide" open={form.unpriced !== '' || form.stripeAccounts !== ''}>
            <summary>Advanced: unpriced endpoints, {form.vendor === 'twilio' ? 'Twilio pricing' : 'connected accounts'}</summary>
            <label class="field-label" for="unpriced">Unpriced endpoints <span class="muted">(one "METHOD /path = free" or "= 0.50" per line)</span></label>
            <textarea id="unpriced" name="unpriced" rows={2} class={`mono ${invalid('unpriced')}`} placeholder="POST /v1/invoices/*/pay = free" value={form.unpriced}
              onInput={(e) => set({ unpriced: e.currentTarget.value })} onBlur={touch('unpriced')} />
            <FieldProblems problems={problems('unpriced')} />
            {form.vendor === 'stripe' ? (
              <>
                <label class="field-label" for="stripe_accounts">Stripe connected accounts <span class="muted">(acct_…, comma separated)</span></label>
                <input id="stripe_accounts" name="stripe_accounts" class={`mono ${invalid('stripe_accounts')}`} value={form.stripeAccounts}
                  onInput={(e) => set({ stripeAccounts: e.currentTarget.value })} onBlur={touch('stripe_accounts')} />
                <FieldProblems problems={problems('stripe_accounts')} />
              </>
            ) : (
              <>
                <span class="field-label">Twilio pricing <span class="muted">(optional: bounds calls, prices destinations the price table lacks)</span></span>
                <div class="form-grid form-grid-4">
                  {TWILIO_FIELDS.map(([field, label]) => (
                    <label class="field" key={field}>
                      <span class="small muted">{label}</span>
                      <input name={`twilio_${field}`} inputMode="decimal" class={invalid('twilio')} placeholder="not set" value={form.twilio[field]}
                        onInput={(e) => set({ twilio: { ...form.twilio, [field]: e.currentTarget.value } })} onBlur={touch('twilio')} />
                    </label>
                  ))}
                </div>
                <FieldProblems problems={problems('twilio')} />
              </>
            )}
          </details>
        </div>

        {attempted && !validation.ok && (
          <div class="error-box" role="alert">
            <strong>Fix these before issuing:</strong>
            <ul class="problems">
              {validation.all.map((p) => (
                <li key={p}>{p}</li>
              ))}
            </ul>
          </div>
        )}
        {apiError && <ErrorBox error={apiError} title="The API refused the key" />}

        <div class="form-footer">
          <details class="preview">
            <summary>Request body</summary>
            <pre class="mono">{JSON.stringify(validation.body, null, 2)}</pre>
          </details>
          <button type="submit" class="btn btn-primary" disabled={busy}>{busy ? 'Issuing…' : 'Issue key'}</button>
        </div>
      </form>
    </section>
  );
}
