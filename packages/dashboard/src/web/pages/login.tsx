import { useState } from 'preact/hooks';
import { ApiFailure, checkToken, session } from '../api.ts';

export function LoginPage({ notice, onSignedIn }: { notice: string; onSignedIn: () => void }) {
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');

  const submit = async (event: Event) => {
    event.preventDefault();
    if (!token.trim()) return setError('Enter the admin token (KEYLEASH_ADMIN_TOKEN).');
    setBusy(true);
    setError('');
    try {
      await checkToken(token.trim());
      session.signIn(token.trim());
      onSignedIn();
    } catch (e) {
      setError(e instanceof ApiFailure ? `${e.message} (HTTP ${e.status})` : `Could not reach keyleash: ${String(e)}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="login">
      <form class="card login-card" onSubmit={submit}>
        <div class="brand brand-large"><span class="brand-mark" aria-hidden="true" />keyleash</div>
        <h1>Sign in</h1>
        <p class="muted">Paste the proxy's admin token. It stays in this browser tab only (session storage) and is sent to the management API as a Bearer header.</p>
        {notice && <p class="notice">{notice}</p>}
        <label class="field">
          <span class="field-label">Admin token</span>
          <input type="password" name="admin_token" autoComplete="current-password" autoFocus value={token} onInput={(e) => setToken(e.currentTarget.value)} />
        </label>
        {error && <p class="error-box" role="alert">{error}</p>}
        <button type="submit" class="btn btn-primary btn-block" disabled={busy}>{busy ? 'Checking…' : 'Sign in'}</button>
      </form>
    </main>
  );
}
