import { reportError } from './output.js';

/** Runs a command's work and turns a failure into the contract's error line and exit status. */
export async function runCommand(work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    process.exitCode = reportError(error);
  }
}
