import { useState, type ReactNode } from 'react';
import { api, ApiError } from '../api';
import { Badge, ErrorNote, Hash, Loading, PageTitle, Pager, Section } from '../components';
import { formatAge, formatTime, shortId } from '../format';
import { useApi, useDebounced, useKeysetPages } from '../hooks';
import { Link, useRoute } from '../router';
import type { Client, ClientDetail, ClientState } from '../types';

const states: readonly ClientState[] = ['pending', 'approved', 'revoked'];

function stateFrom(value: string | null): ClientState | '' {
  return states.find((s) => s === value) ?? '';
}

/**
 * Clients, searched and paged on the site (host name or id; state): the browser holds one page,
 * so the page stays as fast with 100,000 clients as with ten.
 */
export function ClientsPage(): ReactNode {
  const route = useRoute();
  const [search, setSearch] = useState(route.params.get('search') ?? '');
  const [state, setState] = useState<ClientState | ''>(stateFrom(route.params.get('state')));
  const [pageSize, setPageSize] = useState(50);
  const settledSearch = useDebounced(search.trim(), 300);
  const pages = useKeysetPages<Client>(
    '/clients',
    { search: settledSearch, state: state === '' ? undefined : state },
    pageSize,
  );

  return (
    <>
      <PageTitle title="Clients" />
      <Section title="Find clients">
        <div className="filters">
          <label>
            Search host name or id
            <input
              type="search"
              value={search}
              onChange={(event) => setSearch(event.target.value)}
              placeholder="web-01"
              data-testid="client-search"
            />
          </label>
          <label>
            State
            <select
              value={state}
              onChange={(event) => setState(stateFrom(event.target.value))}
              data-testid="client-state"
            >
              <option value="">any</option>
              {states.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </label>
        </div>
        <ErrorNote error={pages.error} />
        <Pager pages={pages} noun="clients" onPageSize={setPageSize} />
        {pages.data === undefined ? (
          <Loading what="clients" />
        ) : (
          <table data-testid="clients-table">
            <thead>
              <tr>
                <th>Host name</th>
                <th>Client id</th>
                <th>State</th>
                <th>Mode</th>
                <th>Root</th>
                <th>Last seen</th>
              </tr>
            </thead>
            <tbody>
              {pages.data.items.map((client) => (
                <tr key={client.id}>
                  <td>
                    <Link to={`/clients/${client.id}`}>{client.hostname}</Link>
                  </td>
                  <td>
                    <Hash value={client.id} />
                  </td>
                  <td>
                    <Badge value={client.state} />
                  </td>
                  <td>{client.mode}</td>
                  <td>{client.rootSource}</td>
                  <td title={client.lastSeenAt ?? ''}>{formatAge(client.lastSeenAt)}</td>
                </tr>
              ))}
              {pages.data.items.length === 0 ? (
                <tr>
                  <td colSpan={6} className="muted">
                    No client matches.
                  </td>
                </tr>
              ) : null}
            </tbody>
          </table>
        )}
      </Section>
    </>
  );
}

/** One client: registration, approve or revoke, discovery, inventory and its latest status messages. */
export function ClientDetailPage(props: { id: string }): ReactNode {
  const detail = useApi<ClientDetail>(`/clients/${encodeURIComponent(props.id)}`, 10_000);
  const [actionError, setActionError] = useState<ApiError | null>(null);
  const [confirmRevoke, setConfirmRevoke] = useState(false);
  const [softwareFilter, setSoftwareFilter] = useState('');

  const act = (action: 'approve' | 'revoke') => {
    setActionError(null);
    setConfirmRevoke(false);
    api('POST', `/clients/${encodeURIComponent(props.id)}/${action}`).then(
      () => detail.reload(),
      (error: unknown) =>
        setActionError(
          error instanceof ApiError ? error : new ApiError(0, 'ERR_NETWORK', 'the site did not answer'),
        ),
    );
  };

  if (detail.data === undefined) {
    return (
      <>
        <PageTitle title="Client" />
        <ErrorNote error={detail.error} />
        {detail.error === undefined ? <Loading what="the client" /> : null}
      </>
    );
  }
  const { client, discovery, inventory, statusMessages, collections } = detail.data;
  const facts = Object.entries(inventory.facts);
  const filter = softwareFilter.trim().toLowerCase();
  const software =
    filter === ''
      ? inventory.software
      : inventory.software.filter((s) => s.name.toLowerCase().includes(filter));

  return (
    <>
      <PageTitle title={client.hostname}>
        {client.state === 'pending' ? (
          <button type="button" className="primary" onClick={() => act('approve')}>
            Approve
          </button>
        ) : null}
        {client.state === 'revoked' ? null : confirmRevoke ? (
          <>
            <button type="button" className="danger" onClick={() => act('revoke')}>
              Revoke for good
            </button>
            <button type="button" onClick={() => setConfirmRevoke(false)}>
              Keep
            </button>
          </>
        ) : (
          <button type="button" onClick={() => setConfirmRevoke(true)}>
            Revoke…
          </button>
        )}
      </PageTitle>
      <ErrorNote error={actionError} />
      {confirmRevoke ? (
        <p className="notice">
          A revoked client gets no policy and its reports are refused. Revocation is final: the client cannot
          be approved again.
        </p>
      ) : null}
      <Section title="Registration">
        <dl className="facts">
          <dt>State</dt>
          <dd>
            <Badge value={client.state} testId="client-detail-state" />
          </dd>
          <dt>Client id</dt>
          <dd>
            <code>{client.id}</code>
          </dd>
          <dt>Site</dt>
          <dd>{client.siteCode}</dd>
          <dt>Mode</dt>
          <dd>{client.mode}</dd>
          <dt>Root obtained</dt>
          <dd>{client.rootSource}</dd>
          <dt>Registered</dt>
          <dd>{formatTime(client.registeredAt)}</dd>
          <dt>Approved</dt>
          <dd>{formatTime(client.approvedAt)}</dd>
          {client.revokedAt === null ? null : (
            <>
              <dt>Revoked</dt>
              <dd>{formatTime(client.revokedAt)}</dd>
            </>
          )}
          <dt>Last seen</dt>
          <dd>{formatAge(client.lastSeenAt)}</dd>
          <dt>Collections</dt>
          <dd>
            {collections.length === 0
              ? 'none'
              : collections.map((id, index) => (
                  <span key={id}>
                    {index === 0 ? '' : ', '}
                    <Link to={`/collections/${id}`}>{shortId(id)}</Link>
                  </span>
                ))}
          </dd>
        </dl>
      </Section>
      <Section title="Discovery">
        {discovery === null ? (
          <p className="muted">No discovery data yet.</p>
        ) : (
          <dl className="facts">
            <dt>Host name</dt>
            <dd>{discovery.hostname}</dd>
            <dt>Domain</dt>
            <dd>{discovery.domain ?? '—'}</dd>
            <dt>Addresses</dt>
            <dd>{discovery.addresses.join(', ') || '—'}</dd>
            <dt>Agent version</dt>
            <dd>{discovery.agent_version ?? '—'}</dd>
            <dt>Updated</dt>
            <dd>{formatTime(discovery.updated_at)}</dd>
          </dl>
        )}
      </Section>
      <Section title={`Inventory facts (${facts.length})`}>
        {facts.length === 0 ? (
          <p className="muted">No inventory yet.</p>
        ) : (
          <table className="compact" data-testid="inventory-facts">
            <tbody>
              {facts.map(([name, value]) => (
                <tr key={name}>
                  <th>{name}</th>
                  <td>{value}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
      <Section
        title={`Installed software (${inventory.software.length}${inventory.software.length === 2000 ? ' shown, the first 2,000' : ''})`}
        actions={
          <input
            type="search"
            placeholder="filter by name"
            value={softwareFilter}
            onChange={(event) => setSoftwareFilter(event.target.value)}
          />
        }
      >
        <div className="scroll">
          <table className="compact">
            <thead>
              <tr>
                <th>Name</th>
                <th>Version</th>
                <th>Architecture</th>
                <th>Source</th>
              </tr>
            </thead>
            <tbody>
              {software.map((s) => (
                <tr key={`${s.name}\u0000${s.version}\u0000${s.arch}`}>
                  <td>{s.name}</td>
                  <td>{s.version}</td>
                  <td>{s.arch}</td>
                  <td>{s.source}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Section>
      <Section
        title="Status history (latest 50)"
        actions={<Link to={`/status-messages?clientId=${client.id}`}>All status messages</Link>}
      >
        {statusMessages.length === 0 ? (
          <p className="muted">No status messages from this client.</p>
        ) : (
          <table className="compact" data-testid="client-status">
            <thead>
              <tr>
                <th>When</th>
                <th>Severity</th>
                <th>Status id</th>
                <th>Deployment</th>
                <th>Details</th>
              </tr>
            </thead>
            <tbody>
              {statusMessages.map((m) => (
                <tr key={m.message_id}>
                  <td title={m.occurred_at}>{formatTime(m.occurred_at)}</td>
                  <td>
                    <Badge value={m.severity} />
                  </td>
                  <td>{m.status_id}</td>
                  <td>
                    {m.deployment_id === null ? (
                      '—'
                    ) : (
                      <Link to={`/deployments/${m.deployment_id}`}>{shortId(m.deployment_id)}</Link>
                    )}
                  </td>
                  <td>{m.insertion_strings.join(' · ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
    </>
  );
}
