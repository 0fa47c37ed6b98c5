import { useEffect, useState } from 'preact/hooks';
import { session } from './api.ts';
import { AlertsPage } from './pages/alerts.tsx';
import { ApprovalsPage } from './pages/approvals.tsx';
import { AuditPage } from './pages/audit.tsx';
import { IssuePage } from './pages/issue.tsx';
import { KeyDetailPage } from './pages/key-detail.tsx';
import { KeysPage } from './pages/keys.tsx';
import { LoginPage } from './pages/login.tsx';
import { SpendPage } from './pages/spend.tsx';
import { href, useRoute, type Route } from './router.ts';

const NAV: { page: Route['page']; label: string; to: string }[] = [
  { page: 'keys', label: 'Keys', to: href.keys() },
  { page: 'audit', label: 'Audit stream', to: href.audit() },
  { page: 'spend', label: 'Spend', to: href.spend() },
  { page: 'approvals', label: 'Approvals', to: href.approvals() },
  { page: 'alerts', label: 'Alerts', to: href.alerts() },
  { page: 'issue', label: 'Issue a key', to: href.issue() },
];

export function App() {
  const route = useRoute();
  const [signedIn, setSignedIn] = useState(() => session.token() !== null);
  const [notice, setNotice] = useState('');

  useEffect(
    () =>
      session.onSignedOut((reason) => {
        setNotice(reason);
        setSignedIn(false);
      }),
    [],
  );

  if (!signedIn) {
    return (
      <LoginPage
        notice={notice}
        onSignedIn={() => {
          setNotice('');
          setSignedIn(true);
        }}
      />
    );
  }

  const current = route.page === 'key' ? 'keys' : route.page;
  return (
    <div class="layout">
      <header class="topbar">
        <a class="brand" href={href.keys()}><span class="brand-mark" aria-hidden="true" />keyleash</a>
        <nav class="nav">
          {NAV.map((item) => (
            <a key={item.page} href={item.to} class={item.page === current ? 'active' : ''} aria-current={item.page === current ? 'page' : undefined}>
              {item.label}
            </a>
          ))}
        </nav>
        <button type="button" class="btn btn-ghost" onClick={() => session.signOut('Signed out.')}>Sign out</button>
      </header>
      <main class="content">
        {route.page === 'keys' && <KeysPage />}
        {route.page === 'key' && <KeyDetailPage id={route.id!} key={route.id} />}
        {route.page === 'audit' && <AuditPage params={route.query} key={route.query.toString()} />}
        {route.page === 'spend' && <SpendPage />}
        {route.page === 'issue' && <IssuePage />}
        {route.page === 'alerts' && <AlertsPage />}
        {route.page === 'approvals' && <ApprovalsPage />}
      </main>
    </div>
  );
}
