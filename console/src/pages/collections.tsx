import { useEffect, useState, type SyntheticEvent, type ReactNode } from 'react';
import { api, ApiError } from '../api';
import { Badge, ErrorNote, Hash, Loading, PageTitle, Pager, Section } from '../components';
import { formatAge, formatCount, formatTime, plural } from '../format';
import { useApi, useDebounced, useKeysetPages } from '../hooks';
import { Link, navigate } from '../router';
import type { Collection, CollectionMember, RulePreview } from '../types';

function toApiError(error: unknown): ApiError {
  return error instanceof ApiError ? error : new ApiError(0, 'ERR_NETWORK', 'the site did not answer');
}

/** A rule's members as the site would evaluate them now, fetched a moment after typing stops. */
function useRulePreview(rule: string): {
  preview: RulePreview | null;
  error: ApiError | null;
  busy: boolean;
} {
  const settled = useDebounced(rule.trim(), 350);
  const [state, setState] = useState<{
    rule: string;
    preview: RulePreview | null;
    error: ApiError | null;
  }>({ rule: '', preview: null, error: null });
  useEffect(() => {
    if (settled === '') return undefined;
    const controller = new AbortController();
    api<RulePreview>('POST', '/collections/preview', { rule: settled }, controller.signal).then(
      (preview) => setState({ rule: settled, preview, error: null }),
      (error: unknown) => {
        if (!controller.signal.aborted) setState({ rule: settled, preview: null, error: toApiError(error) });
      },
    );
    return () => controller.abort();
  }, [settled]);
  if (rule.trim() === '') return { preview: null, error: null, busy: false };
  const current = state.rule === rule.trim();
  return { preview: state.preview, error: current ? state.error : null, busy: !current };
}

function NewCollection(props: { onCreated: (collection: Collection) => void }): ReactNode {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [rule, setRule] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const { preview, error: ruleError, busy: previewing } = useRulePreview(rule);

  const submit = (event: SyntheticEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    api<Collection>('POST', '/collections', {
      name: name.trim(),
      description,
      rule: rule.trim() === '' ? null : rule.trim(),
    }).then(
      (created) => {
        setBusy(false);
        props.onCreated(created);
      },
      (caught: unknown) => {
        setBusy(false);
        setError(toApiError(caught));
      },
    );
  };

  return (
    <form className="form" onSubmit={submit} aria-label="new collection">
      <label>
        Name
        <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={128} name="name" />
      </label>
      <label>
        Description
        <input
          value={description}
          onChange={(e) => setDescription(e.target.value)}
          maxLength={2000}
          name="description"
        />
      </label>
      <label>
        Rule (see docs/collection-rules.md; leave empty for a collection of direct members)
        <textarea
          value={rule}
          onChange={(e) => setRule(e.target.value)}
          rows={3}
          maxLength={4096}
          name="rule"
          spellCheck={false}
          placeholder={'os.family = "linux" and client.hostname ~ "web-*"'}
        />
      </label>
      <div className="preview" aria-live="polite" data-testid="rule-preview">
        {rule.trim() === '' ? (
          <span className="muted">Type a rule to see which clients it matches.</span>
        ) : ruleError !== null ? (
          <span className="error-text" data-testid="preview-error">
            {ruleError.message}
          </span>
        ) : preview === null ? (
          <span className="muted">Evaluating…</span>
        ) : (
          <>
            <strong
              data-testid="preview-count"
              data-count={preview.count}
              className={previewing ? 'stale' : ''}
            >
              {plural(preview.count, 'client')} match
              {preview.count === 1 ? 'es' : ''}
            </strong>
            {preview.sample.length > 0 ? (
              <span className="muted">
                {' '}
                — {preview.sample.map((c) => c.hostname).join(', ')}
                {preview.count > preview.sample.length ? ', …' : ''}
              </span>
            ) : null}
          </>
        )}
      </div>
      <ErrorNote error={error} />
      <button type="submit" className="primary" disabled={busy || name.trim() === ''}>
        Create collection
      </button>
    </form>
  );
}

export function CollectionsPage(): ReactNode {
  const collections = useApi<{ items: Collection[] }>('/collections', 15_000);
  const [creating, setCreating] = useState(false);

  return (
    <>
      <PageTitle title="Collections">
        <button type="button" className="primary" onClick={() => setCreating((c) => !c)}>
          {creating ? 'Close' : 'New collection'}
        </button>
      </PageTitle>
      {creating ? (
        <Section title="New collection">
          <NewCollection
            onCreated={(created) => {
              setCreating(false);
              collections.reload();
              navigate(`/collections/${created.id}`);
            }}
          />
        </Section>
      ) : null}
      <Section title="All collections">
        <ErrorNote error={collections.error} />
        {collections.data === undefined ? (
          <Loading what="collections" />
        ) : collections.data.items.length === 0 ? (
          <p className="muted">No collections yet.</p>
        ) : (
          <table data-testid="collections-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Members</th>
                <th>Rule</th>
                <th>Evaluated</th>
              </tr>
            </thead>
            <tbody>
              {collections.data.items.map((c) => (
                <tr key={c.id}>
                  <td>
                    <Link to={`/collections/${c.id}`}>{c.name}</Link>
                  </td>
                  <td>{formatCount(c.memberCount)}</td>
                  <td>
                    {c.rule === null ? <span className="muted">direct members</span> : <code>{c.rule}</code>}
                  </td>
                  <td title={c.evaluatedAt ?? ''}>{c.rule === null ? '—' : formatAge(c.evaluatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
    </>
  );
}

export function CollectionDetailPage(props: { id: string }): ReactNode {
  const collection = useApi<Collection>(`/collections/${encodeURIComponent(props.id)}`, 10_000);
  const [pageSize, setPageSize] = useState(50);
  const members = useKeysetPages<CollectionMember>(
    `/collections/${encodeURIComponent(props.id)}/members`,
    {},
    pageSize,
    { refreshMs: 10_000 },
  );
  const c = collection.data;
  return (
    <>
      <PageTitle title={c?.name ?? 'Collection'}>
        <Link to="/deployments/new" className="button">
          Deploy to a collection
        </Link>
      </PageTitle>
      <ErrorNote error={collection.error} />
      {c === undefined ? null : (
        <Section title="Collection">
          <dl className="facts">
            <dt>Id</dt>
            <dd>
              <Hash value={c.id} length={40} />
            </dd>
            <dt>Members</dt>
            <dd data-testid="collection-members">{formatCount(c.memberCount)}</dd>
            <dt>Rule</dt>
            <dd>{c.rule === null ? 'none (direct members only)' : <code>{c.rule}</code>}</dd>
            <dt>Description</dt>
            <dd>{c.description === '' ? '—' : c.description}</dd>
            <dt>Created</dt>
            <dd>{formatTime(c.createdAt)}</dd>
            <dt>Last evaluated</dt>
            <dd>{formatTime(c.evaluatedAt)}</dd>
          </dl>
        </Section>
      )}
      <Section title="Members">
        <ErrorNote error={members.error} />
        <Pager pages={members} noun="members" onPageSize={setPageSize} />
        {members.data === undefined ? (
          <Loading what="members" />
        ) : (
          <table>
            <thead>
              <tr>
                <th>Host name</th>
                <th>Client id</th>
                <th>State</th>
                <th>Membership</th>
              </tr>
            </thead>
            <tbody>
              {members.data.items.map((m) => (
                <tr key={m.clientId}>
                  <td>
                    <Link to={`/clients/${m.clientId}`}>{m.hostname}</Link>
                  </td>
                  <td>
                    <Hash value={m.clientId} />
                  </td>
                  <td>
                    <Badge value={m.state} />
                  </td>
                  <td>{m.direct ? 'direct' : 'by rule'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
    </>
  );
}
