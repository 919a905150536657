import { spawn } from 'node:child_process';
import { resolve, sep } from 'node:path';
import { protocolLimits } from '../../protocol/index.js';
import type { PolicyBodyPayload } from '../../trust/index.js';

export interface ProgramResult {
  outcome: 'succeeded' | 'failed' | 'timed-out' | 'not-started';
  exitCode: number | null;
  signal: string | null;
  outputTail: string;
  durationMs: number;
}

/**
 * Runs a deployment's program: its command line through /bin/sh in the package folder (or its
 * working directory inside it), with the program's environment on top of a minimal one, and a time
 * limit after which the whole process group is killed. Success is decided by the program's success
 * exit codes. Only the tail of the output is kept.
 */
export async function runProgram(
  program: PolicyBodyPayload['program'],
  packageDir: string,
  options: { onStarted?: (pid: number) => void; signal?: AbortSignal; agentDir?: string } = {},
): Promise<ProgramResult> {
  const started = Date.now();
  const cwd = resolve(packageDir, program.workingDirectory);
  if (cwd !== resolve(packageDir) && !cwd.startsWith(resolve(packageDir) + sep)) {
    return {
      outcome: 'not-started',
      exitCode: null,
      signal: null,
      outputTail: 'working directory escapes the package',
      durationMs: 0,
    };
  }
  const tail = new OutputTail(protocolLimits.maxOutputTailBytes);
  return new Promise((resolveResult) => {
    const child = spawn('/bin/sh', ['-c', program.commandLine], {
      cwd,
      env: {
        PATH: process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin',
        HOME: process.env['HOME'] ?? '/',
        LANG: 'C.UTF-8',
        STEWARD_PACKAGE_DIR: packageDir,
        ...(options.agentDir === undefined ? {} : { STEWARD_AGENT_DIR: options.agentDir }),
        ...program.environment,
      },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let timedOut = false;
    const killGroup = () => {
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, program.timeLimitSeconds * 1000);
    options.signal?.addEventListener('abort', killGroup, { once: true });
    child.stdout.on('data', (chunk: Buffer) => tail.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => tail.push(chunk));
    child.once('spawn', () => {
      if (child.pid !== undefined) options.onStarted?.(child.pid);
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      resolveResult({
        outcome: 'not-started',
        exitCode: null,
        signal: null,
        outputTail: error.message,
        durationMs: Date.now() - started,
      });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const outcome = timedOut
        ? 'timed-out'
        : code !== null && program.successExitCodes.includes(code)
          ? 'succeeded'
          : 'failed';
      resolveResult({
        outcome,
        exitCode: code,
        signal,
        outputTail: tail.text(),
        durationMs: Date.now() - started,
      });
    });
  });
}

/** Keeps the last `limit` bytes of a stream. */
class OutputTail {
  #chunks: Buffer[] = [];
  #size = 0;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    while (this.#size - (this.#chunks[0]?.length ?? 0) >= this.limit && this.#chunks.length > 1) {
      this.#size -= this.#chunks.shift()?.length ?? 0;
    }
  }

  text(): string {
    const all = Buffer.concat(this.#chunks);
    return all.subarray(Math.max(0, all.length - this.limit)).toString('utf8');
  }
}
