import { reportError } from '../protocol/command-line.js';

/**
 * The `steward` command's entry. `steward agent ...` loads the agent's commands alone: the build
 * splits modules into chunks, and an agent that idles on a managed machine for months should not
 * hold the site server's database, web framework and directory libraries in memory (DESIGN.md
 * section 8: the idle agent stays small). Every other command loads the whole program.
 */
try {
  const program =
    process.argv[2] === 'agent'
      ? (await import('./agent-program.js')).buildAgentProgram()
      : (await import('./program.js')).buildProgram();
  await program.parseAsync(process.argv);
} catch (error) {
  const code = (error as { code?: string }).code;
  if (code === 'commander.helpDisplayed' || code === 'commander.version') process.exitCode = 0;
  else if (typeof code === 'string' && code.startsWith('commander.')) process.exitCode = 2;
  else process.exitCode = reportError(error);
}
