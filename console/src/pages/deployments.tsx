import { useEffect, useMemo, useState, type SyntheticEvent, type ReactNode } from 'react';
import { api, ApiError } from '../api';
import { Badge, ErrorNote, Hash, Loading, PageTitle, Pager, ProgressBar, Section } from '../components';
import {
  finishedCount,
  isFinished,
  percentFinished,
  ProgressHistory,
  StateChart,
  summaryStates,
} from '../deployment-chart';
import { formatAge, formatCount, formatTime } from '../format';
import { useApi, useKeysetPages } from '../hooks';
import { Link, navigate } from '../router';
import type { Collection, Deployment, DeploymentClientState, PackageVersion } from '../types';

function toApiError(error: unknown): ApiError {
  return error instanceof ApiError ? error : new ApiError(0, 'ERR_NETWORK', 'the site did not answer');
}

export function DeploymentsPage(): ReactNode {
  const deployments = useApi<{ items: Deployment[] }>('/deployments', 3_000);
  return (
    <>
      <PageTitle title="Deployments">
        <Link to="/deployments/new" className="button primary" testId="new-deployment">
          New deployment
        </Link>
      </PageTitle>
      <Section title="All deployments">
        <ErrorNote error={deployments.error} />
        {deployments.data === undefined ? (
          <Loading what="deployments" />
        ) : deployments.data.items.length === 0 ? (
          <p className="muted">No deployments yet.</p>
        ) : (
          <table data-testid="deployments-table">
            <thead>
              <tr>
                <th>Deployment</th>
                <th>Package</th>
                <th>Program</th>
                <th>State</th>
                <th>Targeted</th>
                <th className="wide">Finished</th>
                <th>Created</th>
              </tr>
            </thead>
            <tbody>
              {deployments.data.items.map((d) => (
                <tr key={d.id}>
                  <td>
                    <Link to={`/deployments/${d.id}`}>{d.name}</Link>
                  </td>
                  <td>
                    <Link to={`/packages/${d.packageId}?version=${encodeURIComponent(d.packageVersion)}`}>
                      {d.packageId} {d.packageVersion}
                    </Link>
                  </td>
                  <td>{d.programName}</td>
                  <td>
                    <Badge value={d.state} />
                  </td>
                  <td>{formatCount(d.summary.targeted)}</td>
                  <td>
                    <ProgressBar
                      done={d.summary.succeeded}
                      failed={finishedCount(d.summary) - d.summary.succeeded}
                      total={d.summary.targeted}
                    />
                  </td>
                  <td>{formatTime(d.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
    </>
  );
}

export function NewDeploymentPage(): ReactNode {
  const packages = useApi<{ items: PackageVersion[] }>('/packages');
  const collections = useApi<{ items: Collection[] }>('/collections');
  const [packageKey, setPackageKey] = useState('');
  const [programName, setProgramName] = useState('');
  const [collectionId, setCollectionId] = useState('');
  const [name, setName] = useState('');
  const [mandatory, setMandatory] = useState(true);
  const [rerun, setRerun] = useState<Deployment['rerun']>('never');
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  const versions = useMemo(() => packages.data?.items ?? [], [packages.data]);
  const chosen = versions.find((v) => `${v.packageId}/${v.version}` === packageKey);
  useEffect(() => {
    setProgramName(chosen?.programs[0]?.name ?? '');
  }, [chosen]);

  const submit = (event: SyntheticEvent) => {
    event.preventDefault();
    if (chosen === undefined) return;
    setBusy(true);
    setError(null);
    api<Deployment>('POST', '/deployments', {
      name: name.trim() === '' ? null : name.trim(),
      packageId: chosen.packageId,
      packageVersion: chosen.version,
      programName,
      collectionId,
      mandatory,
      rerun,
    }).then(
      (created) => navigate(`/deployments/${created.id}`),
      (caught: unknown) => {
        setBusy(false);
        setError(toApiError(caught));
      },
    );
  };

  return (
    <>
      <PageTitle title="New deployment" />
      <Section title="Deploy a program to a collection">
        <ErrorNote error={packages.error ?? collections.error} />
        <form className="form" onSubmit={submit} aria-label="new deployment">
          <label>
            Package version
            <select
              value={packageKey}
              onChange={(e) => setPackageKey(e.target.value)}
              required
              name="package"
            >
              <option value="">choose a package…</option>
              {versions.map((v) => (
                <option key={`${v.packageId}/${v.version}`} value={`${v.packageId}/${v.version}`}>
                  {v.name} {v.version}
                </option>
              ))}
            </select>
          </label>
          <label>
            Program
            <select
              value={programName}
              onChange={(e) => setProgramName(e.target.value)}
              required
              name="program"
            >
              {(chosen?.programs ?? []).map((program) => (
                <option key={program.name} value={program.name}>
                  {program.name} — {program.commandLine}
                </option>
              ))}
            </select>
          </label>
          <label>
            Collection
            <select
              value={collectionId}
              onChange={(e) => setCollectionId(e.target.value)}
              required
              name="collection"
            >
              <option value="">choose a collection…</option>
              {(collections.data?.items ?? []).map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name} ({formatCount(c.memberCount)} members)
                </option>
              ))}
            </select>
          </label>
          <label>
            Name (optional)
            <input value={name} onChange={(e) => setName(e.target.value)} maxLength={256} name="name" />
          </label>
          <div className="form-row">
            <label className="inline">
              <input
                type="checkbox"
                checked={mandatory}
                onChange={(e) => setMandatory(e.target.checked)}
                name="mandatory"
              />
              Mandatory now (agents run it without waiting for a user)
            </label>
            <label className="inline">
              Run again
              <select
                value={rerun}
                onChange={(e) => setRerun(e.target.value as Deployment['rerun'])}
                name="rerun"
              >
                <option value="never">never</option>
                <option value="if-failed">if it failed</option>
                <option value="if-succeeded">if it succeeded</option>
                <option value="always">always</option>
              </select>
            </label>
          </div>
          <ErrorNote error={error} />
          <button
            type="submit"
            className="primary"
            disabled={busy || chosen === undefined || collectionId === '' || programName === ''}
          >
            Create deployment
          </button>
        </form>
      </Section>
    </>
  );
}

export function DeploymentDetailPage(props: { id: string }): ReactNode {
  const [finished, setFinished] = useState(false);
  const path = `/deployments/${encodeURIComponent(props.id)}`;
  const deployment = useApi<Deployment>(path, finished ? 5_000 : 1_000);
  const [pageSize, setPageSize] = useState(50);
  const clients = useKeysetPages<DeploymentClientState>(`${path}/clients`, {}, pageSize, {
    refreshMs: finished ? 10_000 : 2_000,
  });
  const [history, setHistory] = useState<{ at: number; percent: number }[]>([]);
  const [actionError, setActionError] = useState<ApiError | null>(null);
  const d = deployment.data;

  useEffect(() => {
    if (d === undefined) return;
    setFinished(isFinished(d.summary));
    const percent = percentFinished(d.summary);
    setHistory((points) => {
      const last = points.at(-1);
      if (last !== undefined && last.percent === percent && points.length > 1) {
        return [...points.slice(0, -1), { at: Date.now(), percent }];
      }
      return [...points.slice(-299), { at: Date.now(), percent }];
    });
  }, [d]);

  const change = (state: 'active' | 'disabled') => {
    setActionError(null);
    api('PUT', path, { state }).then(
      () => deployment.reload(),
      (caught: unknown) => setActionError(toApiError(caught)),
    );
  };

  if (d === undefined) {
    return (
      <>
        <PageTitle title="Deployment" />
        <ErrorNote error={deployment.error} />
        {deployment.error === undefined ? <Loading what="the deployment" /> : null}
      </>
    );
  }
  const s = d.summary;
  const percent = percentFinished(s);
  return (
    <>
      <PageTitle title={d.name}>
        {d.state === 'active' ? (
          <button type="button" onClick={() => change('disabled')}>
            Disable
          </button>
        ) : (
          <button type="button" onClick={() => change('active')}>
            Enable
          </button>
        )}
      </PageTitle>
      <ErrorNote error={actionError ?? deployment.error} />
      <Section title="Progress" actions={<span className="muted">updated {formatAge(s.updatedAt)}</span>}>
        <div className="progress-headline">
          <span className="big-number" data-testid="deployment-percent" data-percent={percent}>
            {percent}%
          </span>
          <span>
            finished: {formatCount(s.succeeded)} succeeded, {formatCount(s.failed)} failed,{' '}
            {formatCount(s.timedOut)} timed out of {formatCount(s.targeted)} targeted
            {isFinished(s) ? ' · complete' : ''}
          </span>
        </div>
        <ProgressBar
          done={s.succeeded}
          failed={s.failed + s.timedOut}
          total={s.targeted}
          testId="deployment-progress"
        />
        <StateChart summary={s} />
        <ul className="legend">
          {summaryStates.map((state) => (
            <li key={state.key}>
              <span className={`swatch ${state.className}`} aria-hidden="true" />
              {state.label}: <strong data-testid={`count-${state.key}`}>{formatCount(s[state.key])}</strong>
            </li>
          ))}
        </ul>
        <ProgressHistory points={history} />
      </Section>
      <Section title="Deployment">
        <dl className="facts">
          <dt>Id</dt>
          <dd>
            <code>{d.id}</code>
          </dd>
          <dt>State</dt>
          <dd>
            <Badge value={d.state} />
          </dd>
          <dt>Package</dt>
          <dd>
            <Link to={`/packages/${d.packageId}?version=${encodeURIComponent(d.packageVersion)}`}>
              {d.packageId} {d.packageVersion}
            </Link>{' '}
            · program {d.programName}
          </dd>
          <dt>Collection</dt>
          <dd>
            <Link to={`/collections/${d.collectionId}`}>{d.collectionId}</Link>
          </dd>
          <dt>Available</dt>
          <dd>{formatTime(d.availableAt)}</dd>
          <dt>Mandatory</dt>
          <dd>{d.mandatoryAt === null ? 'no (optional)' : formatTime(d.mandatoryAt)}</dd>
          <dt>Expires</dt>
          <dd>{formatTime(d.expiresAt)}</dd>
          <dt>Run again</dt>
          <dd>{d.rerun}</dd>
          <dt>Policy</dt>
          <dd>
            <Hash value={d.policyId} /> version {d.policyVersion}
          </dd>
        </dl>
      </Section>
      <Section
        title="Clients"
        actions={<Link to={`/status-messages?deploymentId=${d.id}`}>Status messages</Link>}
      >
        <ErrorNote error={clients.error} />
        <Pager pages={clients} noun="clients" onPageSize={setPageSize} />
        {clients.data === undefined ? (
          <Loading what="client states" />
        ) : clients.data.items.length === 0 ? (
          <p className="muted">No client has reported on this deployment yet.</p>
        ) : (
          <table data-testid="deployment-clients">
            <thead>
              <tr>
                <th>Host name</th>
                <th>State</th>
                <th>Status id</th>
                <th>Exit code</th>
                <th>Detail</th>
                <th>Updated</th>
              </tr>
            </thead>
            <tbody>
              {clients.data.items.map((c) => (
                <tr key={c.clientId}>
                  <td>
                    <Link to={`/clients/${c.clientId}`}>{c.hostname}</Link>
                  </td>
                  <td>
                    <Badge value={c.state} />
                  </td>
                  <td>{c.statusId ?? '—'}</td>
                  <td>{c.exitCode ?? '—'}</td>
                  <td>{c.detail}</td>
                  <td title={c.updatedAt}>{formatAge(c.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
    </>
  );
}
