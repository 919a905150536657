/**
 * Real `steward` processes for end-to-end tests: the command an administrator runs (bin/steward.mjs,
 * built into dist/ by the tests' global setup), started as child processes and stopped by their
 * PID only. Every process a test starts is remembered, so `stopAllStewardProcesses` in afterAll
 * leaves nothing running even when a test failed half way.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';

const repositoryRoot = resolve(import.meta.dirname, '../..');
export const stewardBin = join(repositoryRoot, 'bin', 'steward.mjs');

/** Keeps at most this much of a long-running process's output (the tail is what a failure needs). */
const maxKeptOutput = 256 * 1024;

export interface StewardProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves when the process has exited, with its exit code or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Standard output and standard error so far (their tails). */
  stdout(): string;
  stderr(): string;
  running(): boolean;
  /** Sends `signal` to this process (by PID) and waits for it to exit; SIGKILL after `graceMs`. */
  stop(
    signal?: NodeJS.Signals,
    graceMs?: number,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started = new Set<StewardProcess>();

/** Starts `steward ARGS` in the background. */
export function startSteward(
  args: readonly string[],
  options: { env?: Record<string, string> } = {},
): StewardProcess {
  const child = spawn(process.execPath, [stewardBin, ...args], {
    cwd: repositoryRoot,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`steward ${args.join(' ')} did not start`);
  const pid = child.pid;
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out = (out + chunk.toString('utf8')).slice(-maxKeptOutput)));
  child.stderr.on('data', (chunk: Buffer) => (err = (err + chunk.toString('utf8')).slice(-maxKeptOutput)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => {
    child.once('close', (code, signal) => resolveExit({ code, signal }));
  });
  let done = false;
  void exited.then(() => (done = true));
  const handle: StewardProcess = {
    pid,
    child,
    exited,
    stdout: () => out,
    stderr: () => err,
    running: () => !done,
    stop: async (signal = 'SIGTERM', graceMs = 10_000) => {
      if (!done) {
        signalPid(pid, signal);
        const timer = setTimeout(() => signalPid(pid, 'SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      started.delete(handle);
      return exited;
    },
  };
  started.add(handle);
  void exited.then(() => started.delete(handle));
  return handle;
}

/** Runs `steward ARGS` to completion. */
export async function runSteward(
  args: readonly string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = startSteward(args, options);
  const timer = setTimeout(() => signalPid(child.pid, 'SIGKILL'), options.timeoutMs ?? 60_000);
  const { code } = await child.exited;
  clearTimeout(timer);
  return { code, stdout: child.stdout(), stderr: child.stderr() };
}

/** Runs `steward ARGS --json`, expecting success, and parses its one JSON document. */
export async function runStewardJson<T>(
  args: readonly string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<T> {
  const result = await runSteward([...args, '--json'], options);
  if (result.code !== 0) {
    throw new Error(`steward ${args.slice(0, 2).join(' ')} exited ${result.code}: ${result.stderr.trim()}`);
  }
  return JSON.parse(result.stdout) as T;
}

/** Stops every steward process a test started and left running (by PID, SIGTERM then SIGKILL). */
export async function stopAllStewardProcesses(): Promise<void> {
  await Promise.all([...started].map((p) => p.stop('SIGTERM', 5_000)));
}

/** Sends a signal to one process by its PID; a process that is already gone is fine. */
export function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitUntil<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  timeoutMs = 60_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, intervalMs));
  }
}
