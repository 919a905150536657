import { copyFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { RunRecord } from './context.js';
import { formatNumber, ratioOf, verdictOf, type Figure } from './figures.js';
import type { MachineFacts } from './machine.js';

export interface RunMeta {
  readonly stamp: string;
  readonly date: string;
  readonly commit: string;
  readonly mode: 'quick' | 'full';
  readonly seed: number;
  readonly scenarios: readonly string[];
  readonly command: string;
  readonly machine: MachineFacts;
  readonly postgres: string;
  readonly durationSeconds: number;
  readonly failures: readonly { scenario: string; error: string }[];
}

/** Writes `<stamp>.jsonl` (one JSON line per figure) and `<stamp>.md`; returns their paths. */
export async function writeResults(
  outDir: string,
  meta: RunMeta,
  record: RunRecord,
  options: { updateLatest: boolean },
): Promise<{ jsonl: string; markdown: string }> {
  const jsonl = join(outDir, `${meta.stamp}.jsonl`);
  const markdown = join(outDir, `${meta.stamp}.md`);
  const run = {
    stamp: meta.stamp,
    date: meta.date,
    commit: meta.commit,
    mode: meta.mode,
    seed: meta.seed,
    cpu: meta.machine.cpuModel,
    cores: meta.machine.cores,
    node: meta.machine.node,
  };
  const lines = record.figures.map((figure) =>
    JSON.stringify({ run, ...figure, ratio: ratioOf(figure), verdict: verdictOf(figure) }),
  );
  await writeFile(jsonl, lines.length === 0 ? '' : `${lines.join('\n')}\n`);
  await writeFile(markdown, renderMarkdown(meta, record));
  if (options.updateLatest) {
    await copyFile(jsonl, join(outDir, 'latest.jsonl'));
    await copyFile(markdown, join(outDir, 'latest.md'));
  }
  return { jsonl, markdown };
}

export function renderMarkdown(meta: RunMeta, record: RunRecord): string {
  const m = meta.machine;
  const out: string[] = [
    `# Steward benchmark results (${meta.mode} run)`,
    '',
    `- Date: ${meta.date} (took ${Math.round(meta.durationSeconds)} s)`,
    `- Commit: \`${meta.commit}\``,
    `- Command: \`${meta.command}\` (seed ${meta.seed}); scenarios: ${meta.scenarios.join(', ')}`,
    `- Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, Linux ${m.kernel}; load average at start ${m.loadAverageAtStart}`,
    `- Software: Node ${m.node}, PGlite ${m.pglite}, PostgreSQL ${meta.postgres}, ${m.tools['openssl'] ?? ''}, ${m.tools['nginx'] ?? ''}, ${m.tools['wrk'] ?? ''}`,
    '',
    renderTable(record.figures),
    '',
  ];
  if (meta.failures.length > 0) {
    out.push('## Scenarios that failed', '');
    for (const failure of meta.failures) out.push(`- **${failure.scenario}**: ${failure.error}`);
    out.push('');
  }
  if (record.notes.size > 0) {
    out.push('## Notes', '');
    for (const [scenario, notes] of record.notes) {
      out.push(`### ${scenario}`, '');
      for (const note of notes) out.push(note.includes('\n') ? note : `- ${note}`);
      out.push('');
    }
  }
  const charts = record.artifacts.filter((a) => a.endsWith('.svg'));
  if (charts.length > 0) {
    out.push('## Charts', '');
    for (const chart of charts) out.push(`![${basename(chart)}](${basename(chart)})`, '');
  }
  return `${out.join('\n')}\n`;
}

export function renderTable(figures: readonly Figure[]): string {
  const rows = [
    '| Scenario | Figure | Value | Baseline (same run) | Baseline value | Ratio | Budget | Verdict |',
    '| --- | --- | ---: | --- | ---: | ---: | --- | --- |',
  ];
  for (const f of figures) {
    const ratio = ratioOf(f);
    const base = f.baseline;
    const value = f.value === null ? `— (${f.note ?? 'not measured'})` : `${formatNumber(f.value)} ${f.unit}`;
    const baseValue =
      base === undefined
        ? ''
        : base.value === null
          ? `— (${base.note ?? 'not measured'})`
          : `${formatNumber(base.value)} ${base.unit}`;
    const verdict = verdictOf(f);
    rows.push(
      `| ${f.scenario} | ${f.name} | ${value} | ${base?.name ?? 'none'} | ${baseValue} | ${ratio === null ? '' : ratio.toFixed(2)} | ${f.budget?.text ?? ''} | ${verdict === 'MISSED' ? '**MISSED**' : verdict} |`,
    );
  }
  return rows.join('\n');
}
