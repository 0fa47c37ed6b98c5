import { useEffect, useState } from 'preact/hooks';

/** Hash routes: #/keys, #/keys/<id>, #/audit?vault_key_id=…, #/spend, #/issue, #/alerts, #/approvals */
export interface Route {
  page: 'keys' | 'key' | 'audit' | 'spend' | 'issue' | 'alerts' | 'approvals';
  id?: string;
  query: URLSearchParams;
}

export function parseRoute(hash: string): Route {
  const [path = '', queryText = ''] = hash.replace(/^#/, '').split('?', 2);
  const parts = path.split('/').filter(Boolean);
  const query = new URLSearchParams(queryText);
  if (parts[0] === 'keys' && parts[1]) return { page: 'key', id: decodeURIComponent(parts[1]), query };
  if (parts[0] === 'audit' || parts[0] === 'spend' || parts[0] === 'issue' || parts[0] === 'alerts' || parts[0] === 'approvals') return { page: parts[0], query };
  return { page: 'keys', query };
}

export function useRoute(): Route {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const onChange = () => setHash(location.hash);
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return parseRoute(hash);
}

export const href = {
  keys: () => '#/keys',
  key: (id: string) => `#/keys/${encodeURIComponent(id)}`,
  audit: (params: Record<string, string> = {}) => {
    const query = new URLSearchParams(params).toString();
    return `#/audit${query ? `?${query}` : ''}`;
  },
  spend: () => '#/spend',
  issue: () => '#/issue',
  alerts: () => '#/alerts',
  approvals: () => '#/approvals',
};
