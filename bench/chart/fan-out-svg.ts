/**
 * The fan-out curve as a small self-contained SVG: agents whose "succeeded" status is committed at
 * the site over the seconds since the deployment was created, with the same-run crypto floor, the
 * moment every agent has polled at least once, and the budget marked.
 */
export interface FanOutChart {
  title: string;
  agents: number;
  /** [seconds since creation, agents succeeded (committed)] */
  committed: readonly (readonly [number, number])[];
  /** [seconds since creation, agents succeeded (acknowledged by the MP)] */
  acknowledged: readonly (readonly [number, number])[];
  markers: readonly { seconds: number; label: string; color: string }[];
}

const width = 720;
const height = 400;
const margin = { left: 64, right: 24, top: 40, bottom: 48 };

export function fanOutSvg(chart: FanOutChart): string {
  const lastPoint = Math.max(
    chart.committed.at(-1)?.[0] ?? 0,
    chart.acknowledged.at(-1)?.[0] ?? 0,
    ...chart.markers.map((m) => m.seconds),
  );
  const xMax = niceCeiling(Math.max(lastPoint * 1.05, 1));
  const yMax = chart.agents;
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const x = (s: number) => margin.left + (s / xMax) * plotW;
  const y = (n: number) => margin.top + plotH - (n / yMax) * plotH;
  // Steps: a count is known at its sample time and holds until the next sample shows more.
  const path = (points: readonly (readonly [number, number])[]) =>
    points
      .map(([s, n], i) => {
        const previous = points[i - 1];
        const at = `${x(s).toFixed(1)},${y(n).toFixed(1)}`;
        return previous === undefined ? `M${at}` : `H${x(s).toFixed(1)} V${y(n).toFixed(1)}`;
      })
      .join(' ');

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="14" font-weight="bold">${escape(chart.title)}</text>`,
  ];
  const xStep = niceStep(xMax);
  for (let s = 0; s <= xMax + 1e-9; s += xStep) {
    parts.push(
      `<line x1="${x(s)}" y1="${margin.top}" x2="${x(s)}" y2="${margin.top + plotH}" stroke="#eee"/>`,
      `<text x="${x(s)}" y="${margin.top + plotH + 16}" text-anchor="middle">${formatTick(s)}</text>`,
    );
  }
  for (let i = 0; i <= 4; i += 1) {
    const n = (yMax * i) / 4;
    parts.push(
      `<line x1="${margin.left}" y1="${y(n)}" x2="${margin.left + plotW}" y2="${y(n)}" stroke="#eee"/>`,
      `<text x="${margin.left - 6}" y="${y(n) + 4}" text-anchor="end">${Math.round(n).toLocaleString('en-US')}</text>`,
    );
  }
  parts.push(
    `<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`,
    `<text x="${margin.left + plotW / 2}" y="${height - 10}" text-anchor="middle">seconds since the deployment was created</text>`,
    `<text transform="translate(16 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle">agents succeeded</text>`,
  );
  chart.markers.forEach((marker, index) => {
    const mx = x(marker.seconds);
    parts.push(
      `<line x1="${mx}" y1="${margin.top}" x2="${mx}" y2="${margin.top + plotH}" stroke="${marker.color}" stroke-dasharray="5 4"/>`,
      `<text x="${mx + 4}" y="${margin.top + 14 + index * 14}" fill="${marker.color}">${escape(marker.label)}</text>`,
    );
  });
  if (chart.acknowledged.length > 0) {
    parts.push(
      `<path d="${path(chart.acknowledged)}" fill="none" stroke="#9ab" stroke-width="1.5" stroke-dasharray="3 2"/>`,
    );
  }
  parts.push(`<path d="${path(chart.committed)}" fill="none" stroke="#1f5fa8" stroke-width="2"/>`);
  const legendY = margin.top + plotH - 30;
  parts.push(
    `<line x1="${margin.left + plotW - 230}" y1="${legendY}" x2="${margin.left + plotW - 205}" y2="${legendY}" stroke="#1f5fa8" stroke-width="2"/>`,
    `<text x="${margin.left + plotW - 200}" y="${legendY + 4}">committed at the site</text>`,
    `<line x1="${margin.left + plotW - 230}" y1="${legendY + 16}" x2="${margin.left + plotW - 205}" y2="${legendY + 16}" stroke="#9ab" stroke-width="1.5" stroke-dasharray="3 2"/>`,
    `<text x="${margin.left + plotW - 200}" y="${legendY + 20}">acknowledged to the agent</text>`,
    '</svg>',
  );
  return `${parts.join('\n')}\n`;
}

/** Turns the monotonic times of acknowledgements into a cumulative curve. */
export function cumulative(times: readonly number[], originMs: number): [number, number][] {
  const sorted = [...times].sort((a, b) => a - b);
  const points: [number, number][] = [[0, 0]];
  sorted.forEach((t, i) => points.push([(t - originMs) / 1000, i + 1]));
  return points;
}

function niceStep(max: number): number {
  const raw = max / 8;
  const power = 10 ** Math.floor(Math.log10(raw));
  const unit = raw / power;
  return (unit <= 1 ? 1 : unit <= 2 ? 2 : unit <= 5 ? 5 : 10) * power;
}

function niceCeiling(value: number): number {
  const step = niceStep(value);
  return Math.ceil(value / step) * step;
}

function formatTick(seconds: number): string {
  return Number.isInteger(seconds) ? String(seconds) : seconds.toFixed(1);
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

// `node --import tsx bench/chart/fan-out-svg.ts RESULT-fan-out-N.json > chart.svg`: redraws a
// chart from the JSON a fan-out run writes beside it.
if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  const { readFile } = await import('node:fs/promises');
  const data = JSON.parse(await readFile(process.argv[2] ?? '', 'utf8')) as Partial<FanOutChart> & {
    agents: number;
    committed: [number, number][];
    acknowledged: [number, number][];
  };
  process.stdout.write(
    fanOutSvg({
      title: data.title ?? `Fan-out to ${data.agents.toLocaleString('en-US')} simulated agents`,
      agents: data.agents,
      committed: data.committed,
      acknowledged: data.acknowledged,
      markers: data.markers ?? [],
    }),
  );
}
