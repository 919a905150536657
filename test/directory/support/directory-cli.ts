/**
 * `steward directory ...` run in process, through the same Commander wiring as src/cli/main.ts
 * (where the lead registers it): standard output, standard error and the exit status are captured
 * as a script would see them.
 */
import { Command } from 'commander';
import { vi } from 'vitest';
import { registerDirectoryCommands } from '../../../src/cli/commands/directory.js';

/** Read through a function: the flow analysis would otherwise keep the 0 assigned before parsing. */
function exitStatus(): number {
  const value = process.exitCode;
  return typeof value === 'number' ? value : Number(value ?? 0);
}

export async function stewardDirectory(
  args: readonly string[],
): Promise<{ stdout: string; stderr: string; code: number }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  const before = process.exitCode;
  process.exitCode = 0;
  let code: number;
  try {
    const program = new Command('steward').exitOverride();
    registerDirectoryCommands(program);
    await program.parseAsync(['directory', ...args], { from: 'user' });
    code = exitStatus();
  } catch {
    code = 2;
  } finally {
    out.mockRestore();
    err.mockRestore();
    process.exitCode = before;
  }
  return { stdout, stderr, code };
}
