import { join } from 'node:path';
import { commandExists, runToEnd } from '../harness/children.js';
import type { LoadResult } from './http-load.js';

export type { LoadResult } from './http-load.js';

let wrkPresent: Promise<boolean> | undefined;

/** True when wrk is installed (the preferred load generator). */
export function wrkInstalled(): Promise<boolean> {
  wrkPresent ??= commandExists('wrk');
  return wrkPresent;
}

/**
 * A fixed-connection load test of one URL: wrk with one thread (the machine has two cores, shared
 * with the server), or the node:http load generator when wrk is missing.
 */
export async function loadTest(options: {
  url: string;
  connections: number;
  seconds: number;
  headers?: Record<string, string>;
}): Promise<LoadResult> {
  const headers = options.headers ?? {};
  if (await wrkInstalled()) {
    const args = [
      '-t1',
      `-c${options.connections}`,
      `-d${options.seconds}s`,
      '--latency',
      '--timeout',
      '30s',
    ];
    for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}: ${value}`);
    args.push(options.url);
    const result = await runToEnd('wrk', args, { timeoutMs: (options.seconds + 60) * 1000 });
    if (result.code !== 0) throw new Error(`wrk failed: ${result.stderr || result.stdout}`);
    return parseWrk(result.stdout);
  }
  const script = join(import.meta.dirname, 'http-load.ts');
  const result = await runToEnd(
    process.execPath,
    ['--import', 'tsx', script, JSON.stringify({ ...options, headers })],
    {
      timeoutMs: (options.seconds + 60) * 1000,
    },
  );
  if (result.code !== 0) throw new Error(`load generator failed: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as LoadResult;
}

const units: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };
const sizes: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

export function parseWrk(output: string): LoadResult {
  const latency = (label: string) => {
    const match = new RegExp(`^\\s*${label}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(output);
    return match === null ? Number.NaN : Number(match[1]) * (units[match[2] ?? 'ms'] ?? 1);
  };
  const total = /(\d+) requests in ([\d.]+)(us|ms|s|m), ([\d.]+)(B|KB|MB|GB|TB) read/.exec(output);
  const requests = Number(total?.[1] ?? 'NaN');
  const seconds = (Number(total?.[2] ?? 'NaN') * (units[total?.[3] ?? 's'] ?? 1000)) / 1000;
  const bytes = Number(total?.[4] ?? 'NaN') * (sizes[total?.[5] ?? 'B'] ?? 1);
  const bad = /Non-2xx or 3xx responses: (\d+)/.exec(output);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const errors = socketErrors === null ? 0 : socketErrors.slice(1).reduce((sum, n) => sum + Number(n), 0);
  const perSecond = /Requests\/sec:\s+([\d.]+)/.exec(output);
  const transfer = /Transfer\/sec:\s+([\d.]+)(B|KB|MB|GB|TB)/.exec(output);
  return {
    requests,
    seconds,
    bytes,
    requestsPerSecond: Number(perSecond?.[1] ?? 'NaN'),
    bytesPerSecond: Number(transfer?.[1] ?? 'NaN') * (sizes[transfer?.[2] ?? 'B'] ?? 1),
    p50Ms: latency('50'),
    p99Ms: latency('99'),
    badStatus: Number(bad?.[1] ?? '0'),
    errors,
    tool: 'wrk',
  };
}
