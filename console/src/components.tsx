import type { ReactNode } from 'react';
import type { ApiError } from './api';
import { formatCount } from './format';
import type { KeysetPages } from './hooks';

export function PageTitle(props: { title: string; children?: ReactNode }): ReactNode {
  return (
    <header className="page-title">
      <h1>{props.title}</h1>
      {props.children === undefined ? null : <div className="page-actions">{props.children}</div>}
    </header>
  );
}

export function Section(props: { title: string; children: ReactNode; actions?: ReactNode }): ReactNode {
  return (
    <section className="card">
      <div className="card-head">
        <h2>{props.title}</h2>
        {props.actions}
      </div>
      {props.children}
    </section>
  );
}

export function ErrorNote(props: { error: ApiError | undefined | null }): ReactNode {
  if (props.error === undefined || props.error === null) return null;
  return (
    <p className="error-note" role="alert">
      <strong>{props.error.code}</strong> {props.error.message}
    </p>
  );
}

export function Loading(props: { what: string }): ReactNode {
  return <p className="muted">Loading {props.what}…</p>;
}

export function Badge(props: { value: string; testId?: string }): ReactNode {
  return (
    <span className={`badge badge-${props.value}`} data-testid={props.testId}>
      {props.value}
    </span>
  );
}

/** A hash or key fingerprint: monospace, shortened, the full value in the tooltip. */
export function Hash(props: { value: string | null; length?: number }): ReactNode {
  if (props.value === null) return <span className="muted">—</span>;
  const length = props.length ?? 16;
  return (
    <code className="hash" title={props.value}>
      {props.value.length > length ? `${props.value.slice(0, length)}…` : props.value}
    </code>
  );
}

/**
 * A horizontal bar: `done` of `total` in green and `failed` in red after it (an SVG, so no inline
 * style is needed under the strict Content-Security-Policy). The label defaults to the percentage
 * of done and failed together.
 */
export function ProgressBar(props: {
  done: number;
  total: number;
  failed?: number;
  label?: string;
  testId?: string;
}): ReactNode {
  const total = Math.max(props.total, 0);
  const failed = props.failed ?? 0;
  const doneFraction = total === 0 ? 0 : Math.min(1, props.done / total);
  const failedFraction = total === 0 ? 0 : Math.min(1 - doneFraction, failed / total);
  const percent = total === 0 ? 0 : Math.min(100, Math.floor(((props.done + failed) * 100) / total));
  return (
    <div className="progress" data-testid={props.testId}>
      <svg
        viewBox="0 0 100 6"
        preserveAspectRatio="none"
        role="img"
        aria-label={props.label ?? `${percent}%`}
      >
        <rect className="progress-track" x="0" y="0" width="100" height="6" rx="1" />
        <rect className="progress-done" x="0" y="0" width={doneFraction * 100} height="6" rx="1" />
        <rect
          className="progress-failed"
          x={doneFraction * 100}
          y="0"
          width={failedFraction * 100}
          height="6"
          rx="1"
        />
      </svg>
      <span className="progress-text">{props.label ?? `${percent}%`}</span>
    </div>
  );
}

export const pageSizes = [25, 50, 100, 200, 500] as const;

/** Previous / next over a keyset-paged list, with the page size. */
export function Pager<T, C>(props: {
  pages: KeysetPages<T, C>;
  onPageSize?: (size: number) => void;
  noun: string;
}): ReactNode {
  const { pages } = props;
  const shown = pages.data?.items.length ?? 0;
  const first = (pages.pageNumber - 1) * pages.pageSize;
  return (
    <div className="pager" data-testid="pager">
      <button type="button" onClick={pages.previous} disabled={!pages.hasPrevious || pages.loading}>
        ← Previous
      </button>
      <span data-testid="pager-status">
        Page {pages.pageNumber}
        {shown > 0
          ? ` · ${props.noun} ${formatCount(first + 1)}–${formatCount(first + shown)}`
          : ` · no ${props.noun}`}
      </span>
      <button type="button" onClick={pages.next} disabled={!pages.hasNext || pages.loading}>
        Next →
      </button>
      {props.onPageSize === undefined ? null : (
        <label className="inline">
          Page size
          <select
            value={pages.pageSize}
            onChange={(event) => props.onPageSize?.(Number(event.target.value))}
            data-testid="page-size"
          >
            {pageSizes.map((size) => (
              <option key={size} value={size}>
                {size}
              </option>
            ))}
          </select>
        </label>
      )}
    </div>
  );
}
