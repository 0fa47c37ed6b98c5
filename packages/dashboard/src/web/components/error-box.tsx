import type { ApiFailure } from '../api.ts';

/** An API failure as the API said it: the message, and each problem it listed. */
export function ErrorBox({ error, title }: { error: ApiFailure; title?: string }) {
  return (
    <div class="error-box" role="alert">
      <strong>{title ?? 'The API refused'}</strong> <span class="muted">({error.status === 0 ? 'network' : `HTTP ${error.status}`} · {error.code})</span>
      <div>{error.message}</div>
      {error.problems.length > 0 && (
        <ul class="problems">
          {error.problems.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      )}
    </div>
  );
}
