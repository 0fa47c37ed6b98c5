import type { KeyJson } from '../api.ts';
import { href } from '../router.ts';
import { Countdown, MetadataChips, StatusBadge } from './badges.tsx';
import { SpendBar } from './spend-bar.tsx';

/** Keys in tree order (each parent followed by its children, oldest first), with their depth in the listing. */
export function treeOrder(keys: KeyJson[]): { key: KeyJson; level: number }[] {
  const byId = new Map(keys.map((k) => [k.id, k]));
  const children = new Map<string, KeyJson[]>();
  const roots: KeyJson[] = [];
  for (const key of keys) {
    if (key.parent_id !== null && byId.has(key.parent_id)) {
      const siblings = children.get(key.parent_id) ?? [];
      siblings.push(key);
      children.set(key.parent_id, siblings);
    } else {
      roots.push(key);
    }
  }
  const byAge = (a: KeyJson, b: KeyJson) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id);
  const out: { key: KeyJson; level: number }[] = [];
  const walk = (key: KeyJson, level: number) => {
    out.push({ key, level });
    for (const child of (children.get(key.id) ?? []).sort(byAge)) walk(child, level + 1);
  };
  for (const root of roots.sort(byAge).reverse()) walk(root, 0); // newest tree first
  return out;
}

/** the ids of `id`'s descendants among `keys` */
export function descendantsOf(id: string, keys: KeyJson[]): KeyJson[] {
  const out: KeyJson[] = [];
  const frontier = [id];
  while (frontier.length > 0) {
    const parent = frontier.pop()!;
    for (const key of keys) {
      if (key.parent_id === parent) {
        out.push(key);
        frontier.push(key.id);
      }
    }
  }
  return out;
}

export function KeyTreeTable({
  keys,
  now,
  context = new Set(),
  onRevoke,
  highlight,
}: {
  keys: KeyJson[];
  now: number;
  /** keys shown only because a descendant matched the filters */
  context?: Set<string>;
  onRevoke?: (key: KeyJson) => void;
  highlight?: string;
}) {
  const rows = treeOrder(keys);
  return (
    <table class="table keys-table">
      <thead>
        <tr>
          <th>Key</th>
          <th>Vendor</th>
          <th>Metadata</th>
          <th>Status</th>
          <th>Expires</th>
          <th class="col-spend">Today vs daily cap</th>
          {onRevoke && <th class="col-actions" aria-label="actions" />}
        </tr>
      </thead>
      <tbody>
        {rows.map(({ key, level }) => (
          <tr
            key={key.id}
            data-key-id={key.id}
            data-status={key.status}
            class={`${context.has(key.id) ? 'row-context' : ''}${key.id === highlight ? ' row-current' : ''}`}
          >
            <td>
              <div class="tree-cell" style={{ paddingLeft: `${level * 22}px` }}>
                {level > 0 && <span class="tree-elbow" aria-hidden="true">└</span>}
                <a class="mono key-link" href={href.key(key.id)}>{key.id}</a>
                {key.depth > 0 && level === 0 && <span class="muted small"> child of {key.parent_id}</span>}
              </div>
            </td>
            <td>{key.policy.vendor}</td>
            <td><MetadataChips metadata={key.policy.metadata} /></td>
            <td><StatusBadge status={key.status} /></td>
            <td><Countdown expiresAt={key.expires_at} status={key.status} now={now} /></td>
            <td class="col-spend"><SpendBar spent={key.spend?.today_usd ?? 0} cap={key.policy.daily_usd_cap} /></td>
            {onRevoke && (
              <td class="col-actions">
                {key.status === 'active' && (
                  <button type="button" class="btn btn-small btn-danger-outline" onClick={() => onRevoke(key)}>
                    Revoke
                  </button>
                )}
              </td>
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
