import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';

/** Facts about the machine and the software of a run, printed with every table. */
export interface MachineFacts {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  pglite: string;
  loadAverageAtStart: string;
  tools: Record<string, string>;
}

/** The first line a tool prints about itself (stdout or stderr), or "not installed". */
function versionLine(command: string, args: readonly string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.error !== undefined) return 'not installed';
  return `${result.stdout}${result.stderr}`.trim().split('\n')[0]?.trim() ?? '';
}

export function machineFacts(): MachineFacts {
  let pglite = 'unknown';
  try {
    const packageJson = join(
      import.meta.dirname,
      '..',
      '..',
      'node_modules',
      '@electric-sql',
      'pglite',
      'package.json',
    );
    pglite = (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version;
  } catch {
    // Leave it unknown.
  }
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    kernel: release(),
    node: process.version,
    pglite,
    loadAverageAtStart: loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
    tools: {
      openssl: versionLine('openssl', ['version']),
      nginx: versionLine('nginx', ['-v']),
      wrk: versionLine('wrk', ['--version']).replace(/ Copyright.*$/, ''),
    },
  };
}

/** The commit under test (`git rev-parse HEAD`, read-only), or "unknown" outside a checkout. */
export function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return 'unknown';
  }
}
