import { isStewardError } from '../trust/index.js';
import { RemoteError } from './cli-errors.js';

/**
 * The command-line contract (DESIGN.md section 9): with --json, one JSON document on standard
 * output; errors on standard error as `error <CODE>: <message>` with a non-zero exit status.
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

export function reportError(error: unknown): number {
  if (isStewardError(error) || error instanceof RemoteError) {
    process.stderr.write(`error ${error.code}: ${error.message}\n`);
    return 1;
  }
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('commander.')) return 2;
  process.stderr.write(`error ERR_INTERNAL: ${error instanceof Error ? error.message : String(error)}\n`);
  if (process.env['STEWARD_DEBUG'] === '1' && error instanceof Error)
    process.stderr.write(`${error.stack ?? ''}\n`);
  return 1;
}

/** Prints rows as an aligned table. */
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
