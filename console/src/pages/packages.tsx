import { useEffect, useState, type SyntheticEvent, type ReactNode } from 'react';
import { api, ApiError, query } from '../api';
import { ErrorNote, Hash, Loading, PageTitle, ProgressBar, Section } from '../components';
import { formatBytes, formatCount, formatTime } from '../format';
import { useApi } from '../hooks';
import { Link } from '../router';
import type { Job, PackageVersion, PackageVersionDetail } from '../types';

function toApiError(error: unknown): ApiError {
  return error instanceof ApiError ? error : new ApiError(0, 'ERR_NETWORK', 'the site did not answer');
}

/** Polls a job until it has finished. */
function useJob<R>(jobId: string | null): { job: Job<R> | null; error: ApiError | null } {
  const [job, setJob] = useState<Job<R> | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  useEffect(() => {
    setJob(null);
    setError(null);
    if (jobId === null) return undefined;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = () => {
      api<Job<R>>('GET', `/jobs/${encodeURIComponent(jobId)}`).then(
        (view) => {
          if (stopped) return;
          setJob(view);
          if (view.state === 'running') timer = setTimeout(poll, 250);
        },
        (caught: unknown) => {
          if (!stopped) setError(toApiError(caught));
        },
      );
    };
    poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [jobId]);
  return { job, error };
}

function ImportPackage(props: { onImported: () => void }): ReactNode {
  const [name, setName] = useState('');
  const [version, setVersion] = useState('1.0');
  const [sourcePath, setSourcePath] = useState('');
  const [programName, setProgramName] = useState('install');
  const [commandLine, setCommandLine] = useState('');
  const [timeLimit, setTimeLimit] = useState('3600');
  const [error, setError] = useState<ApiError | null>(null);
  const [jobId, setJobId] = useState<string | null>(null);
  const { job, error: jobError } = useJob<PackageVersion>(jobId);
  const { onImported } = props;
  const finished = job !== null && job.state !== 'running';

  useEffect(() => {
    if (job?.state === 'succeeded') onImported();
  }, [job?.state, onImported]);

  const submit = (event: SyntheticEvent) => {
    event.preventDefault();
    setError(null);
    setJobId(null);
    api<Job>('POST', '/packages', {
      name: name.trim(),
      version: version.trim(),
      sourcePath: sourcePath.trim(),
      programs: [{ name: programName.trim(), commandLine, timeLimitSeconds: Number(timeLimit) }],
    }).then(
      (started) => setJobId(started.id),
      (caught: unknown) => setError(toApiError(caught)),
    );
  };

  const running = jobId !== null && !finished && jobError === null;
  return (
    <form className="form" onSubmit={submit} aria-label="import package">
      <div className="form-row">
        <label>
          Package name
          <input
            value={name}
            onChange={(e) => setName(e.target.value)}
            required
            maxLength={128}
            name="name"
          />
        </label>
        <label>
          Version
          <input
            value={version}
            onChange={(e) => setVersion(e.target.value)}
            required
            pattern="[A-Za-z0-9][A-Za-z0-9._\-]{0,63}"
            name="version"
          />
        </label>
      </div>
      <label>
        Source folder on the site server (an absolute path; every file in it is hashed and copied)
        <input
          value={sourcePath}
          onChange={(e) => setSourcePath(e.target.value)}
          required
          placeholder="/srv/packages/tool-2.1"
          name="sourcePath"
        />
      </label>
      <div className="form-row">
        <label>
          Program name
          <input
            value={programName}
            onChange={(e) => setProgramName(e.target.value)}
            required
            name="program"
          />
        </label>
        <label className="grow">
          Command line
          <input
            value={commandLine}
            onChange={(e) => setCommandLine(e.target.value)}
            required
            placeholder="sh install.sh"
            name="commandLine"
          />
        </label>
        <label>
          Time limit (s)
          <input
            type="number"
            min={1}
            value={timeLimit}
            onChange={(e) => setTimeLimit(e.target.value)}
            name="timeLimit"
          />
        </label>
      </div>
      <ErrorNote error={error ?? jobError} />
      {jobId === null ? null : (
        <div className="job" data-testid="import-job" data-state={job?.state ?? 'running'}>
          <ProgressBar
            done={job?.progress?.done ?? 0}
            total={job?.progress?.total ?? 0}
            testId="import-progress"
            label={
              job?.state === 'succeeded'
                ? 'imported'
                : job?.progress == null
                  ? 'starting…'
                  : `${formatBytes(job.progress.done)} of ${formatBytes(job.progress.total)}`
            }
          />
          {job?.state === 'succeeded' && job.result !== null ? (
            <p className="ok-text" data-testid="import-result">
              Imported {job.result.name} {job.result.version}: {formatCount(job.result.fileCount)} files,{' '}
              {formatBytes(job.result.totalSize)}, manifest <Hash value={job.result.manifestHash} />
            </p>
          ) : null}
          {job?.state === 'failed' && job.error !== null ? (
            <p className="error-note" role="alert">
              <strong>{job.error.code}</strong> {job.error.message}
            </p>
          ) : null}
        </div>
      )}
      <button type="submit" className="primary" disabled={running}>
        {running ? 'Importing…' : 'Import package'}
      </button>
    </form>
  );
}

export function PackagesPage(): ReactNode {
  const packages = useApi<{ items: PackageVersion[] }>('/packages', 30_000);
  const [importing, setImporting] = useState(false);
  const { reload } = packages;

  return (
    <>
      <PageTitle title="Packages">
        <button type="button" className="primary" onClick={() => setImporting((i) => !i)}>
          {importing ? 'Close' : 'Import package'}
        </button>
      </PageTitle>
      {importing ? (
        <Section title="Import a package version">
          <ImportPackage onImported={reload} />
        </Section>
      ) : null}
      <Section title="Package versions">
        <ErrorNote error={packages.error} />
        {packages.data === undefined ? (
          <Loading what="packages" />
        ) : packages.data.items.length === 0 ? (
          <p className="muted">No packages yet.</p>
        ) : (
          <table data-testid="packages-table">
            <thead>
              <tr>
                <th>Package</th>
                <th>Version</th>
                <th>Files</th>
                <th>Size</th>
                <th>Programs</th>
                <th>Manifest hash</th>
                <th>Imported</th>
              </tr>
            </thead>
            <tbody>
              {packages.data.items.map((p) => (
                <tr key={`${p.packageId}/${p.version}`}>
                  <td>
                    <Link to={`/packages/${p.packageId}${query({ version: p.version })}`}>{p.name}</Link>
                  </td>
                  <td>{p.version}</td>
                  <td>{formatCount(p.fileCount)}</td>
                  <td>{formatBytes(p.totalSize)}</td>
                  <td>{p.programs.map((program) => program.name).join(', ')}</td>
                  <td>
                    <Hash value={p.manifestHash} />
                  </td>
                  <td>{formatTime(p.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
    </>
  );
}

export function PackageDetailPage(props: { id: string; version: string | null }): ReactNode {
  const detail = useApi<PackageVersionDetail>(
    `/packages/${encodeURIComponent(props.id)}${query({ version: props.version ?? undefined })}`,
  );
  const p = detail.data;
  return (
    <>
      <PageTitle title={p === undefined ? 'Package' : `${p.name} ${p.version}`}>
        <Link to="/deployments/new" className="button">
          Deploy
        </Link>
      </PageTitle>
      <ErrorNote error={detail.error} />
      {p === undefined ? null : (
        <>
          <Section title="Version">
            <dl className="facts">
              <dt>Package id</dt>
              <dd>
                <code>{p.packageId}</code>
              </dd>
              <dt>Version</dt>
              <dd>{p.version}</dd>
              <dt>Files</dt>
              <dd>{formatCount(p.fileCount)}</dd>
              <dt>Size</dt>
              <dd>{formatBytes(p.totalSize)}</dd>
              <dt>Manifest hash</dt>
              <dd>
                <code data-testid="manifest-hash">{p.manifestHash}</code>
              </dd>
              <dt>Imported</dt>
              <dd>{formatTime(p.createdAt)}</dd>
            </dl>
          </Section>
          <Section title="Programs">
            <table>
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Command line</th>
                  <th>Working folder</th>
                  <th>Time limit</th>
                  <th>Elevated</th>
                  <th>Success exit codes</th>
                </tr>
              </thead>
              <tbody>
                {p.programs.map((program) => (
                  <tr key={program.name}>
                    <td>{program.name}</td>
                    <td>
                      <code>{program.commandLine}</code>
                    </td>
                    <td>{program.workingDirectory}</td>
                    <td>{program.timeLimitSeconds} s</td>
                    <td>{program.elevated ? 'yes' : 'no'}</td>
                    <td>{program.successExitCodes.join(', ')}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Section>
          <ManifestView encoded={p.manifest} />
        </>
      )}
    </>
  );
}

interface DecodedManifest {
  signatures: string[];
  issuedAt: string | null;
  expiresAt: string | null;
  files: { path: string; size: number; sha256: string }[];
}

/** The signed manifest's content (a DSSE envelope whose payload is the manifest JSON), or null. */
function decodeManifest(encoded: string): DecodedManifest | null {
  try {
    const envelope = JSON.parse(encoded) as { payload?: unknown; signatures?: { keyid?: unknown }[] };
    if (typeof envelope.payload !== 'string') return null;
    const bytes = Uint8Array.from(atob(envelope.payload), (c) => c.charCodeAt(0));
    const manifest = JSON.parse(new TextDecoder().decode(bytes)) as {
      files?: { path: string; size: number; sha256: string }[];
      issuedAt?: string;
      expiresAt?: string;
    };
    if (!Array.isArray(manifest.files)) return null;
    return {
      signatures: (envelope.signatures ?? []).map((s) => (typeof s.keyid === 'string' ? s.keyid : '?')),
      issuedAt: manifest.issuedAt ?? null,
      expiresAt: manifest.expiresAt ?? null,
      files: manifest.files,
    };
  } catch {
    return null;
  }
}

const shownFiles = 500;

function ManifestView(props: { encoded: string }): ReactNode {
  const manifest = decodeManifest(props.encoded);
  return (
    <Section title="Signed manifest">
      <p className="muted">
        The manifest lists every file with its SHA-256 and is signed by the site key; an agent checks the
        signature and every hash before it runs anything.
      </p>
      {manifest === null ? (
        <pre className="manifest">{props.encoded}</pre>
      ) : (
        <>
          <dl className="facts">
            <dt>Signed by key</dt>
            <dd>
              {manifest.signatures.map((keyId) => (
                <Hash key={keyId} value={keyId} length={24} />
              ))}
            </dd>
            <dt>Issued</dt>
            <dd>{formatTime(manifest.issuedAt)}</dd>
            <dt>Expires</dt>
            <dd>{formatTime(manifest.expiresAt)}</dd>
          </dl>
          <table className="compact" data-testid="manifest-files">
            <thead>
              <tr>
                <th>Path</th>
                <th>Size</th>
                <th>SHA-256</th>
              </tr>
            </thead>
            <tbody>
              {manifest.files.slice(0, shownFiles).map((file) => (
                <tr key={file.path}>
                  <td>
                    <code>{file.path}</code>
                  </td>
                  <td>{formatBytes(file.size)}</td>
                  <td>
                    <Hash value={file.sha256} length={24} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {manifest.files.length > shownFiles ? (
            <p className="muted">
              The first {formatCount(shownFiles)} of {formatCount(manifest.files.length)} files are shown.
            </p>
          ) : null}
        </>
      )}
    </Section>
  );
}
