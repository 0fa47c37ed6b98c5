import { useState } from 'preact/hooks';
import { ApiFailure, keysApi, type KeyJson } from '../api.ts';
import { ErrorBox } from './error-box.tsx';

/**
 * Confirmation first (naming every active descendant that will die with the key), then the
 * cascade as the API reports it.
 */
export function RevokeDialog({ target, descendants, onClose }: { target: KeyJson; descendants: KeyJson[]; onClose: (revoked: boolean) => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiFailure | undefined>();
  const [revokedIds, setRevokedIds] = useState<string[] | undefined>();
  const activeDescendants = descendants.filter((k) => k.status === 'active');

  const confirm = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const result = await keysApi.revoke(target.id);
      setRevokedIds(result.revoked_ids);
    } catch (e) {
      setError(e instanceof ApiFailure ? e : new ApiFailure(0, 'network', String(e)));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="overlay" onClick={(e) => e.target === e.currentTarget && !busy && onClose(revokedIds !== undefined)}>
      <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="revoke-title">
        {revokedIds === undefined ? (
          <>
            <h2 id="revoke-title">Revoke {target.id}?</h2>
            <p>
              Every request with this key is refused from now on. This cannot be undone.
              {activeDescendants.length > 0
                ? ` Its ${activeDescendants.length} active descendant key${activeDescendants.length === 1 ? '' : 's'} will be revoked with it:`
                : ' It has no active descendant keys.'}
            </p>
            {activeDescendants.length > 0 && (
              <ul class="id-list">
                {activeDescendants.map((k) => (
                  <li key={k.id} class="mono">{k.id}</li>
                ))}
              </ul>
            )}
            {error && <ErrorBox error={error} />}
            <div class="dialog-actions">
              <button type="button" class="btn" onClick={() => onClose(false)} disabled={busy}>Cancel</button>
              <button type="button" class="btn btn-danger" onClick={confirm} disabled={busy}>
                {busy ? 'Revoking…' : activeDescendants.length > 0 ? `Revoke ${activeDescendants.length + 1} keys` : 'Revoke key'}
              </button>
            </div>
          </>
        ) : (
          <>
            <h2 id="revoke-title">Revoked</h2>
            <p>
              {revokedIds.length === 0
                ? 'The key was already revoked; nothing changed.'
                : `${revokedIds.length} key${revokedIds.length === 1 ? ' was' : 's were'} revoked:`}
            </p>
            <ul class="id-list revoked-ids">
              {revokedIds.map((id) => (
                <li key={id} class="mono">{id}</li>
              ))}
            </ul>
            <div class="dialog-actions">
              <button type="button" class="btn btn-primary" onClick={() => onClose(true)}>Done</button>
            </div>
          </>
        )}
      </div>
    </div>
  );
}
