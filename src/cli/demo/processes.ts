import { spawn, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';

/** The command that runs this very `steward` (the demo starts its site and agents with it). */
export function stewardCommand(): { command: string; args: string[] } {
  const entry = process.argv[1];
  if (entry === undefined) throw new Error('cannot tell how steward was started');
  return { command: process.execPath, args: [entry] };
}

/** Starts `steward ARGS` as a child process, its output going to `logFile`. */
export function startSteward(args: readonly string[], logFile: string, detached = false): ChildProcess {
  const { command, args: base } = stewardCommand();
  const log = openSync(logFile, 'a');
  return spawn(command, [...base, ...args], { stdio: ['ignore', log, log], detached });
}

/** Runs `steward ARGS --json` to completion and returns its JSON document. */
export async function runStewardJson<T>(args: readonly string[]): Promise<T> {
  const { command, args: base } = stewardCommand();
  const child = spawn(command, [...base, ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  if (code !== 0) throw new Error(`steward ${args.slice(0, 2).join(' ')} failed: ${stderr.trim()}`);
  return JSON.parse(stdout) as T;
}

/** Stops a child by its PID and waits for it to exit. */
export async function stopChild(child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}
