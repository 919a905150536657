import { useState, type ReactNode } from 'react';
import { query } from '../api';
import { Badge, ErrorNote, Loading, PageTitle, Pager, Section } from '../components';
import { formatTime, shortId } from '../format';
import { useDebounced, useKeysetPages } from '../hooks';
import { Link, navigate } from '../router';
import type { Severity, StatusMessage } from '../types';

const severities: readonly Severity[] = ['info', 'warning', 'error'];

interface Filters {
  clientId: string;
  deploymentId: string;
  severity: Severity | '';
  statusId: string;
}

function filtersFrom(params: URLSearchParams): Filters {
  const severity = params.get('severity');
  return {
    clientId: params.get('clientId') ?? '',
    deploymentId: params.get('deploymentId') ?? '',
    severity: severities.find((s) => s === severity) ?? '',
    statusId: params.get('statusId') ?? '',
  };
}

/** Status messages, newest first, filtered and paged on the site; the filters are kept in the URL. */
export function StatusMessagesPage(props: { params: URLSearchParams }): ReactNode {
  const [filters, setFilters] = useState<Filters>(() => filtersFrom(props.params));
  const [pageSize, setPageSize] = useState(50);
  const settled = useDebounced(filters, 300);
  const statusId = /^-?\d+$/.test(settled.statusId.trim()) ? settled.statusId.trim() : undefined;
  const pages = useKeysetPages<StatusMessage, number>(
    '/status-messages',
    {
      clientId: settled.clientId.trim(),
      deploymentId: settled.deploymentId.trim(),
      severity: settled.severity,
      statusId,
    },
    pageSize,
    { cursorParam: 'before', refreshMs: 10_000 },
  );

  const update = (change: Partial<Filters>) => {
    const next = { ...filters, ...change };
    setFilters(next);
    navigate(`/status-messages${query({ ...next })}`, { replace: true });
  };

  return (
    <>
      <PageTitle title="Status messages" />
      <Section title="Filters">
        <div className="filters">
          <label>
            Client id
            <input
              value={filters.clientId}
              onChange={(e) => update({ clientId: e.target.value })}
              maxLength={64}
              spellCheck={false}
            />
          </label>
          <label>
            Deployment id
            <input
              value={filters.deploymentId}
              onChange={(e) => update({ deploymentId: e.target.value })}
              maxLength={64}
              spellCheck={false}
            />
          </label>
          <label>
            Severity
            <select
              value={filters.severity}
              onChange={(e) => update({ severity: severities.find((s) => s === e.target.value) ?? '' })}
              data-testid="severity-filter"
            >
              <option value="">any</option>
              {severities.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </label>
          <label>
            Status id
            <input
              value={filters.statusId}
              onChange={(e) => update({ statusId: e.target.value })}
              inputMode="numeric"
              size={8}
            />
          </label>
        </div>
      </Section>
      <Section title="Messages">
        <ErrorNote error={pages.error} />
        <Pager pages={pages} noun="messages" onPageSize={setPageSize} />
        {pages.data === undefined ? (
          <Loading what="status messages" />
        ) : pages.data.items.length === 0 ? (
          <p className="muted">No status message matches.</p>
        ) : (
          <table data-testid="status-table">
            <thead>
              <tr>
                <th>Occurred</th>
                <th>Severity</th>
                <th>Id</th>
                <th>Message</th>
                <th>Machine</th>
                <th>Deployment</th>
                <th>Component</th>
              </tr>
            </thead>
            <tbody>
              {pages.data.items.map((m) => (
                <tr key={m.id}>
                  <td title={`received ${m.received_at}`}>{formatTime(m.occurred_at)}</td>
                  <td>
                    <Badge value={m.severity} />
                  </td>
                  <td>{m.status_id}</td>
                  <td>
                    {m.text ?? <span className="muted">(unknown status id)</span>}
                    {m.insertion_strings.length > 0 ? (
                      <div className="muted small">{m.insertion_strings.join(' · ')}</div>
                    ) : null}
                  </td>
                  <td>
                    {m.client_id === null ? (
                      m.machine
                    ) : (
                      <Link to={`/clients/${m.client_id}`}>{m.machine}</Link>
                    )}
                  </td>
                  <td>
                    {m.deployment_id === null ? (
                      '—'
                    ) : (
                      <Link to={`/deployments/${m.deployment_id}`}>{shortId(m.deployment_id)}</Link>
                    )}
                  </td>
                  <td>{m.component}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
    </>
  );
}
