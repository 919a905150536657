import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createWriteStream } from 'node:fs';

/**
 * Child processes of the bench: site servers, baseline servers, nginx, wrk, agents. Each is
 * stopped by its own PID (SIGTERM, then SIGKILL after a grace period), never by name; any left
 * when the bench exits are stopped then too.
 */
const live = new Set<ChildProcess>();

process.on('exit', () => {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
});

export interface StartedChild {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves with the first stdout line for which `match` returns a value. */
  waitForLine<T>(match: (line: string) => T | undefined, timeoutMs: number): Promise<T>;
  stop(graceMs?: number): Promise<void>;
  readonly exited: Promise<number | null>;
}

/** Starts a process, logging its stdout and stderr to `logFile`. */
export function startChild(
  command: string,
  args: readonly string[],
  logFile: string,
  options: SpawnOptions = {},
): StartedChild {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  live.add(child);
  const log = createWriteStream(logFile, { flags: 'a' });
  const listeners = new Set<(line: string) => void>();
  let pending = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    log.write(chunk);
    pending += chunk.toString('utf8');
    let newline = pending.indexOf('\n');
    while (newline >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      for (const listener of listeners) listener(line);
      newline = pending.indexOf('\n');
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => log.write(chunk));
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      live.delete(child);
      log.end();
      resolve(code);
    });
  });
  const pid = child.pid;
  return {
    child,
    pid,
    exited,
    waitForLine: <T>(match: (line: string) => T | undefined, timeoutMs: number) =>
      new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(listener);
          reject(
            new Error(`${command} did not print the expected line within ${timeoutMs} ms (log: ${logFile})`),
          );
        }, timeoutMs);
        const listener = (line: string) => {
          const value = match(line);
          if (value === undefined) return;
          clearTimeout(timer);
          listeners.delete(listener);
          resolve(value);
        };
        listeners.add(listener);
        void exited.then((code) => {
          clearTimeout(timer);
          if (listeners.delete(listener))
            reject(new Error(`${command} exited (${String(code)}) early; see ${logFile}`));
        });
      }),
    stop: async (graceMs = 15_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      process.kill(pid, 'SIGTERM');
      const timer = setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGKILL');
      }, graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Runs a command to completion and returns its output. */
export function runToEnd(
  command: string,
  args: readonly string[],
  options: { timeoutMs?: number; cwd?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    });
    live.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
          }, options.timeoutMs);
    child.once('error', (error) => {
      live.delete(child);
      reject(error);
    });
    child.once('close', (code) => {
      live.delete(child);
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}

/** True when `command` is found on PATH. */
export async function commandExists(command: string): Promise<boolean> {
  try {
    const result = await runToEnd('sh', ['-c', `command -v ${command}`]);
    return result.code === 0;
  } catch {
    return false;
  }
}

/** Starts one of the bench's TypeScript scripts as its own Node process (through tsx). */
export function startScript(script: string, args: readonly string[], logFile: string): StartedChild {
  return startChild(process.execPath, ['--import', 'tsx', script, ...args], logFile);
}

/** Waits for the `{"listening":true}` line the baseline servers print. */
export async function waitListening(child: StartedChild, timeoutMs = 30_000): Promise<void> {
  await child.waitForLine((line) => (line.includes('"listening":true') ? true : undefined), timeoutMs);
}
