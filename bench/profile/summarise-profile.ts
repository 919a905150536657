import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';

/**
 * Reads a V8 .cpuprofile written by `node --cpu-prof` and says where the time went: self time per
 * code group and per function, and inclusive time of Steward's own functions (what they and
 * everything they call cost). Sample times are CLOCK_MONOTONIC microseconds, the clock of
 * `process.hrtime`, so a window measured in the bench process selects the samples of one phase.
 */
interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileWindow {
  startUs: number;
  endUs: number;
}

/** The current CLOCK_MONOTONIC time in microseconds, comparable with profile sample times. */
export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

interface Entry {
  name: string;
  where: string;
  ms: number;
}

export interface ProfileSummary {
  totalMs: number;
  busyMs: number;
  self: Entry[];
  groups: { group: string; ms: number }[];
  stewardInclusive: Entry[];
}

export async function readProfile(path: string, window?: ProfileWindow): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  const selfUs = new Map<number, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    at += delta;
    if (window !== undefined && (at < window.startUs || at > window.endUs)) return;
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  });

  const self = new Map<string, Entry>();
  const groups = new Map<string, number>();
  const inclusive = new Map<string, Entry>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined) continue;
    totalUs += us;
    if (frame.functionName === '(idle)') idleUs += us;
    const entry = entryFor(self, frame);
    entry.ms += us / 1000;
    const group = groupOf(frame.url, frame.functionName);
    groups.set(group, (groups.get(group) ?? 0) + us / 1000);
    // Inclusive time: every distinct Steward function on this sample's stack.
    const seen = new Set<string>();
    for (let node: number | undefined = id; node !== undefined; node = parent.get(node)) {
      const callFrame = byId.get(node)?.callFrame;
      if (callFrame === undefined || !isStewardUrl(callFrame.url)) continue;
      const key = keyOf(callFrame);
      if (seen.has(key)) continue;
      seen.add(key);
      entryFor(inclusive, callFrame).ms += us / 1000;
    }
  }
  const sorted = (map: Map<string, Entry>) => [...map.values()].sort((a, b) => b.ms - a.ms);
  return {
    totalMs: totalUs / 1000,
    busyMs: (totalUs - idleUs) / 1000,
    self: sorted(self),
    groups: [...groups.entries()].map(([group, ms]) => ({ group, ms })).sort((a, b) => b.ms - a.ms),
    stewardInclusive: sorted(inclusive),
  };
}

/** Steward's own code: the dist bundle a site runs, or src/ as the bench process loads it. */
function isStewardUrl(url: string): boolean {
  return url.includes('/dist/steward') || (url.includes('/src/') && !url.includes('node_modules'));
}

function keyOf(frame: { functionName: string; url: string; lineNumber: number }): string {
  return `${frame.functionName} ${frame.url}:${frame.lineNumber}`;
}

function entryFor(
  map: Map<string, Entry>,
  frame: { functionName: string; url: string; lineNumber: number },
): Entry {
  const key = keyOf(frame);
  let entry = map.get(key);
  if (entry === undefined) {
    entry = {
      name: frame.functionName === '' ? '(anonymous)' : frame.functionName,
      where: frame.url === '' ? '' : `${shortUrl(frame.url)}:${frame.lineNumber + 1}`,
      ms: 0,
    };
    map.set(key, entry);
  }
  return entry;
}

function shortUrl(url: string): string {
  const path = url.replace(/^file:\/\//, '');
  const modules = path.lastIndexOf('node_modules/');
  if (modules >= 0) return path.slice(modules + 'node_modules/'.length);
  return path.startsWith('/') ? relative(process.cwd(), path) : path;
}

function groupOf(url: string, name: string): string {
  if (url === '') return name.startsWith('(') ? name : 'native (C++ builtins)';
  if (url.startsWith('wasm://') || url.includes('pglite')) return 'PGlite (PostgreSQL in WebAssembly)';
  if (url.startsWith('node:')) {
    if (url.includes('crypto')) return 'node:crypto';
    if (/http|net|stream|_tls|dns/.test(url)) return 'node http/net/streams';
    if (/fs/.test(url)) return 'node:fs';
    return 'node internals';
  }
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') === true ? `${rest[0]}/${rest[1] ?? ''}` : (rest[0] ?? 'node_modules');
  }
  if (isStewardUrl(url)) return 'Steward code';
  return 'other';
}

/** A short Markdown summary of one profile (or one window of it). */
export async function summariseProfile(path: string, top: number, window?: ProfileWindow): Promise<string> {
  const summary = await readProfile(path, window);
  const busy = Math.max(summary.busyMs, 1);
  const percent = (ms: number) => `${((ms / busy) * 100).toFixed(1)}%`;
  const lines = [
    `  ${(summary.totalMs / 1000).toFixed(1)} s sampled, ${(summary.busyMs / 1000).toFixed(1)} s of it busy (not idle); shares below are of the busy time.`,
    `  Self time by code group: ${summary.groups
      .filter((g) => g.group !== '(idle)')
      .slice(0, 9)
      .map((g) => `${g.group} ${percent(g.ms)}`)
      .join(', ')}.`,
    '',
    '  | self | function | where |',
    '  | ---: | --- | --- |',
    ...summary.self
      .filter((f) => f.name !== '(idle)')
      .slice(0, top)
      .map((f) => `  | ${percent(f.ms)} | \`${f.name}\` | ${f.where} |`),
    '',
    '  | inclusive | Steward function | where |',
    '  | ---: | --- | --- |',
    ...summary.stewardInclusive
      .slice(0, top)
      .map((f) => `  | ${percent(f.ms)} | \`${f.name}\` | ${f.where} |`),
  ];
  return lines.join('\n');
}

// `node --import tsx bench/profile/summarise-profile.ts FILE.cpuprofile [TOP]`: the same summary
// for any profile, e.g. one taken by hand with `node --cpu-prof bin/steward.mjs site start`.
if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  const file = process.argv[2];
  if (file === undefined) {
    process.stderr.write('usage: summarise-profile.ts FILE.cpuprofile [TOP]\n');
    process.exitCode = 2;
  } else {
    process.stdout.write(`${await summariseProfile(file, Number(process.argv[3] ?? '20'))}\n`);
  }
}
