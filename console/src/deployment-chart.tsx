import type { ReactNode } from 'react';
import { formatCount } from './format';
import type { DeploymentSummary } from './types';

export const summaryStates = [
  { key: 'notYetReported', label: 'Not yet reported', className: 'state-waiting' },
  { key: 'received', label: 'Received', className: 'state-received' },
  { key: 'downloading', label: 'Downloading', className: 'state-downloading' },
  { key: 'running', label: 'Running', className: 'state-running' },
  { key: 'succeeded', label: 'Succeeded', className: 'state-succeeded' },
  { key: 'failed', label: 'Failed', className: 'state-failed' },
  { key: 'timedOut', label: 'Timed out', className: 'state-timedout' },
] as const;

export function finishedCount(summary: DeploymentSummary): number {
  return summary.succeeded + summary.failed + summary.timedOut;
}

export function isFinished(summary: DeploymentSummary): boolean {
  return summary.targeted > 0 && finishedCount(summary) >= summary.targeted;
}

/** Percent of targeted clients that finished (succeeded, failed or timed out), rounded down. */
export function percentFinished(summary: DeploymentSummary): number {
  if (summary.targeted === 0) return 0;
  return Math.min(100, Math.floor((finishedCount(summary) * 100) / summary.targeted));
}

/** One bar per state, its height the share of the targeted clients in that state. */
export function StateChart(props: { summary: DeploymentSummary }): ReactNode {
  const { summary } = props;
  const width = 700;
  const height = 220;
  const top = 24;
  const bottom = 40;
  const plot = height - top - bottom;
  const slot = width / summaryStates.length;
  const barWidth = slot * 0.56;
  const scale = Math.max(summary.targeted, 1);
  return (
    <svg
      className="chart"
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label="clients of the deployment by state"
      data-testid="state-chart"
    >
      <line className="chart-axis" x1="0" x2={width} y1={top + plot} y2={top + plot} />
      {summaryStates.map((state, index) => {
        const count = summary[state.key];
        const barHeight = (Math.min(count, scale) / scale) * plot;
        const x = index * slot + (slot - barWidth) / 2;
        return (
          <g key={state.key} data-testid={`chart-${state.key}`} data-count={count}>
            <rect
              className={`chart-bar ${state.className}`}
              x={x}
              y={top + plot - barHeight}
              width={barWidth}
              height={Math.max(barHeight, count > 0 ? 1 : 0)}
              rx="2"
            />
            <text className="chart-count" x={x + barWidth / 2} y={top + plot - barHeight - 6}>
              {formatCount(count)}
            </text>
            <text className="chart-label" x={index * slot + slot / 2} y={top + plot + 20}>
              {state.label}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

/** Finished percentage over the time this page has watched the deployment. */
export function ProgressHistory(props: { points: readonly { at: number; percent: number }[] }): ReactNode {
  const width = 700;
  const height = 90;
  const { points } = props;
  if (points.length < 2) return null;
  const first = points[0]?.at ?? 0;
  const span = Math.max((points.at(-1)?.at ?? first) - first, 1);
  const path = points
    .map((p, i) => {
      const x = ((p.at - first) / span) * (width - 10) + 5;
      const y = height - 5 - (p.percent / 100) * (height - 10);
      return `${i === 0 ? 'M' : 'L'}${x.toFixed(1)},${y.toFixed(1)}`;
    })
    .join(' ');
  return (
    <figure className="history">
      <svg
        className="chart"
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label="finished percentage over time"
      >
        <line className="chart-grid" x1="5" x2={width - 5} y1="5" y2="5" />
        <line className="chart-axis" x1="5" x2={width - 5} y1={height - 5} y2={height - 5} />
        <path className="chart-line" d={path} />
      </svg>
      <figcaption className="muted small">
        Finished, 0 to 100%, over the {Math.max(1, Math.round(span / 1000))} s this page has watched
      </figcaption>
    </figure>
  );
}
