import { monitorEventLoopDelay } from 'node:perf_hooks';

/** Small time helpers shared by the scenarios. */

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Milliseconds on the monotonic clock. */
export function nowMs(): number {
  return performance.now();
}

/** Polls `check` every `intervalMs` until it is true; throws after `timeoutMs`. */
export async function waitUntil(
  check: () => Promise<boolean> | boolean,
  options: { timeoutMs: number; intervalMs?: number; what: string },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what}`);
    await sleep(options.intervalMs ?? 100);
  }
}

/**
 * Measures this process's event-loop delay while it runs: when the simulator's own loop is late,
 * the latencies it records include that delay (a loaded machine or a busy simulator, not the site).
 */
export function watchLoopDelay(): () => { p50Ms: number; p99Ms: number; maxMs: number } {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  return () => {
    histogram.disable();
    return {
      p50Ms: histogram.percentile(50) / 1e6,
      p99Ms: histogram.percentile(99) / 1e6,
      maxMs: histogram.max / 1e6,
    };
  };
}
