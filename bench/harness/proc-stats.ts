import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * CPU time and memory of any process by its PID, read from /proc (Linux): the site server, the
 * idle agent, nginx. CPU is user + system time; memory is the resident set (VmRSS) and its peak
 * (VmHWM).
 */
let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** User + system CPU seconds the process has used so far. */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; the fields after its closing parenthesis are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / clockTicks();
}

/** CPU seconds of a process and its direct children (nginx: the master and its workers). */
export function cpuSecondsOfTree(pid: number): number {
  let total = cpuSecondsOf(pid);
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    for (const child of children === '' ? [] : children.split(/\s+/)) total += cpuSecondsOf(Number(child));
  } catch {
    // No children file (older kernels): the process alone.
  }
  return total;
}

export interface MemoryStats {
  rssBytes: number;
  peakRssBytes: number;
  /** Anonymous memory (heaps, stacks) and file-backed pages (the node binary, mapped files). */
  anonBytes: number;
  fileBytes: number;
}

export function memoryOf(pid: number): MemoryStats {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 'NaN') * 1024;
  return {
    rssBytes: kib('VmRSS'),
    peakRssBytes: kib('VmHWM'),
    anonBytes: kib('RssAnon'),
    fileBytes: kib('RssFile'),
  };
}

/** Samples a process's RSS every `intervalMs`, keeping the maximum seen while sampling. */
export class RssSampler {
  #max = 0;
  readonly #samples: number[] = [];
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    intervalMs = 250,
  ) {
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), intervalMs);
    this.#timer.unref();
  }

  #sample(): void {
    try {
      const { rssBytes } = memoryOf(this.pid);
      this.#samples.push(rssBytes);
      this.#max = Math.max(this.#max, rssBytes);
    } catch {
      // The process ended: the samples so far stand.
    }
  }

  stop(): { maxBytes: number; samples: readonly number[] } {
    clearInterval(this.#timer);
    this.#sample();
    return { maxBytes: this.#max, samples: this.#samples };
  }
}

export const MiB = 1024 * 1024;
