import { isStewardError, StewardError } from '../trust/index.js';

/**
 * The command-line contract (DESIGN.md section 9), shared by `steward` and the single-file agent:
 * with --json, one JSON document on standard output; errors on standard error as
 * `error <CODE>: <message>` with a non-zero exit status.
 */
export interface Output {
  readonly json: boolean;
  /** Human-readable lines (suppressed with --json). */
  line(text: string): void;
  /** The command's result: printed as JSON with --json, or by `human` otherwise. */
  result(value: unknown, human: () => void): void;
}

export function createOutput(json: boolean): Output {
  return {
    json,
    line: (text) => {
      if (!json) process.stdout.write(`${text}\n`);
    },
    result: (value, human) => {
      if (json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
      else human();
    },
  };
}

/** An error answer from a Steward server, carrying the stable code the server sent. */
export class RemoteError extends StewardError {
  readonly code: `ERR_${string}`;
  override readonly status: number;
  override readonly retryable: boolean;

  constructor(code: string, message: string, status: number, retryable = status >= 500 || status === 429) {
    super(message);
    this.code = /^ERR_[A-Z0-9_]+$/.test(code) ? (code as `ERR_${string}`) : `ERR_HTTP_${status}`;
    this.status = status;
    this.retryable = retryable;
  }
}

export class UsageError extends StewardError {
  readonly code = 'ERR_USAGE';
}

export function reportError(error: unknown): number {
  if (isStewardError(error)) {
    process.stderr.write(`error ${error.code}: ${error.message}\n`);
    return 1;
  }
  process.stderr.write(`error ERR_INTERNAL: ${error instanceof Error ? error.message : String(error)}\n`);
  if (process.env['STEWARD_DEBUG'] === '1' && error instanceof Error)
    process.stderr.write(`${error.stack ?? ''}\n`);
  return 1;
}

/** Runs a command's work and turns a failure into the contract's error line and exit status. */
export async function runCommand(work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    process.exitCode = reportError(error);
  }
}

/** Rows as an aligned table. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
