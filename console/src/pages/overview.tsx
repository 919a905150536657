import type { ReactNode } from 'react';
import { Badge, ErrorNote, Loading, PageTitle, ProgressBar, Section } from '../components';
import { finishedCount, isFinished } from '../deployment-chart';
import { formatAge, formatCount, shortId } from '../format';
import { useApi } from '../hooks';
import { Link } from '../router';
import type { Deployment, Page, SiteView, StatusMessage } from '../types';

/** The site at a glance: clients by state, deployments still running, the latest errors. */
export function OverviewPage(): ReactNode {
  const site = useApi<SiteView>('/site', 10_000);
  const deployments = useApi<{ items: Deployment[] }>('/deployments', 5_000);
  const errors = useApi<Page<StatusMessage, number>>('/status-messages?severity=error&limit=10', 10_000);
  const inProgress = (deployments.data?.items ?? []).filter(
    (d) => d.state === 'active' && !isFinished(d.summary),
  );

  return (
    <>
      <PageTitle title="Overview" />
      <Section title="Site">
        <ErrorNote error={site.error} />
        {site.data === undefined ? (
          <Loading what="the site" />
        ) : (
          <dl className="facts">
            <dt>Site</dt>
            <dd data-testid="site-code">
              {site.data.code} · {site.data.name}
            </dd>
            <dt>Type</dt>
            <dd>{site.data.type}</dd>
            <dt>Address</dt>
            <dd>{site.data.url}</dd>
            <dt>Version</dt>
            <dd>{site.data.version}</dd>
            <dt>Client approval</dt>
            <dd>{site.data.approval}</dd>
          </dl>
        )}
      </Section>
      <Section title="Clients by state">
        {site.data === undefined ? null : (
          <div className="tiles">
            {(['approved', 'pending', 'revoked'] as const).map((state) => (
              <Link key={state} to={`/clients?state=${state}`} className={`tile tile-${state}`}>
                <span className="tile-number" data-testid={`clients-${state}`}>
                  {formatCount(site.data?.clients[state] ?? 0)}
                </span>
                <span className="tile-label">{state}</span>
              </Link>
            ))}
          </div>
        )}
      </Section>
      <Section title="Deployments in progress" actions={<Link to="/deployments">All deployments</Link>}>
        <ErrorNote error={deployments.error} />
        {deployments.data === undefined ? (
          <Loading what="deployments" />
        ) : inProgress.length === 0 ? (
          <p className="muted">No deployment is in progress.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Deployment</th>
                <th>Program</th>
                <th>Targeted</th>
                <th className="wide">Progress</th>
              </tr>
            </thead>
            <tbody>
              {inProgress.slice(0, 10).map((d) => (
                <tr key={d.id}>
                  <td>
                    <Link to={`/deployments/${d.id}`}>{d.name}</Link>
                  </td>
                  <td>{d.programName}</td>
                  <td>{formatCount(d.summary.targeted)}</td>
                  <td>
                    <ProgressBar
                      done={d.summary.succeeded}
                      failed={finishedCount(d.summary) - d.summary.succeeded}
                      total={d.summary.targeted}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
      <Section title="Recent errors" actions={<Link to="/status-messages?severity=error">All errors</Link>}>
        <ErrorNote error={errors.error} />
        {errors.data === undefined ? (
          <Loading what="status messages" />
        ) : errors.data.items.length === 0 ? (
          <p className="muted">No error status messages.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th>When</th>
                <th>Machine</th>
                <th>Status</th>
                <th>Message</th>
              </tr>
            </thead>
            <tbody>
              {errors.data.items.map((m) => (
                <tr key={m.id}>
                  <td title={m.occurred_at}>{formatAge(m.occurred_at)}</td>
                  <td>
                    {m.client_id === null ? (
                      m.machine
                    ) : (
                      <Link to={`/clients/${m.client_id}`}>{m.machine}</Link>
                    )}
                  </td>
                  <td>
                    <Badge value={m.severity} /> {m.status_id}
                  </td>
                  <td>
                    {m.text ?? '(unknown status id)'}
                    {m.deployment_id === null ? null : (
                      <>
                        {' '}
                        · <Link to={`/deployments/${m.deployment_id}`}>{shortId(m.deployment_id)}</Link>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
    </>
  );
}
