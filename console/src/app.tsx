import { useEffect, useState, type ReactNode } from 'react';
import { currentSession, onSessionChange, signOut, type Session } from './api';
import { Link, useRoute, type Route } from './router';
import { ClientDetailPage, ClientsPage } from './pages/clients';
import { CollectionDetailPage, CollectionsPage } from './pages/collections';
import { DeploymentDetailPage, DeploymentsPage, NewDeploymentPage } from './pages/deployments';
import { HierarchyPage } from './pages/hierarchy';
import { OverviewPage } from './pages/overview';
import { PackageDetailPage, PackagesPage } from './pages/packages';
import { SecurityPage } from './pages/security';
import { SignInPage } from './pages/sign-in';
import { StatusMessagesPage } from './pages/status-messages';

const navigation = [
  { to: '/', label: 'Overview', section: '' },
  { to: '/clients', label: 'Clients', section: 'clients' },
  { to: '/collections', label: 'Collections', section: 'collections' },
  { to: '/packages', label: 'Packages', section: 'packages' },
  { to: '/deployments', label: 'Deployments', section: 'deployments' },
  { to: '/status-messages', label: 'Status messages', section: 'status-messages' },
  { to: '/hierarchy', label: 'Hierarchy', section: 'hierarchy' },
  { to: '/security', label: 'Security', section: 'security' },
] as const;

function pageFor(route: Route): ReactNode {
  const [section, id] = route.segments;
  switch (section) {
    case undefined:
      return <OverviewPage />;
    case 'clients':
      return id === undefined ? <ClientsPage /> : <ClientDetailPage id={id} />;
    case 'collections':
      return id === undefined ? <CollectionsPage /> : <CollectionDetailPage id={id} />;
    case 'packages':
      return id === undefined ? (
        <PackagesPage />
      ) : (
        <PackageDetailPage id={id} version={route.params.get('version')} />
      );
    case 'deployments':
      if (id === undefined) return <DeploymentsPage />;
      return id === 'new' ? <NewDeploymentPage /> : <DeploymentDetailPage id={id} />;
    case 'status-messages':
      return <StatusMessagesPage params={route.params} />;
    case 'hierarchy':
      return <HierarchyPage />;
    case 'security':
      return <SecurityPage />;
    default:
      return (
        <div className="card">
          <h1>No such page</h1>
          <p>
            <Link to="/">Back to the overview</Link>
          </p>
        </div>
      );
  }
}

export function App(): ReactNode {
  const [session, setSession] = useState<Session | null>(currentSession);
  const [notice, setNotice] = useState<string | null>(null);
  const route = useRoute();
  useEffect(
    () =>
      onSessionChange((next, reason) => {
        setSession(next);
        setNotice(reason);
      }),
    [],
  );

  if (session === null) return <SignInPage notice={notice} />;
  const active = route.segments[0] ?? '';
  return (
    <div className="layout">
      <nav className="sidebar" aria-label="console pages">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true">
            S
          </span>
          Steward
        </div>
        <ul>
          {navigation.map((item) => (
            <li key={item.to}>
              <Link
                to={item.to}
                className={item.section === active ? 'active' : ''}
                testId={`nav-${item.section === '' ? 'overview' : item.section}`}
              >
                {item.label}
              </Link>
            </li>
          ))}
        </ul>
        <div className="account">
          <span data-testid="signed-in-as">{session.account}</span>
          <button type="button" className="link-button" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </nav>
      <main className="content" key={route.segments.slice(0, 2).join('/')}>
        {pageFor(route)}
      </main>
    </div>
  );
}
