import { Command } from 'commander';
import { reportError } from '../protocol/command-line.js';
import { registerAgentCommands } from './agent-commands.js';
import { stewardAgentVersion } from './agent-version.js';

/**
 * The single-file agent (`npm run build:agent`): only the agent's commands, bundled with their
 * dependencies into one CommonJS file runnable with plain `node` (docs/agent.md).
 */
const program = new Command('steward-agent')
  .version(stewardAgentVersion)
  .enablePositionalOptions()
  .exitOverride();
registerAgentCommands(program);
program.parseAsync(process.argv).catch((error: unknown) => {
  const code = (error as { code?: string }).code;
  if (code === 'commander.helpDisplayed' || code === 'commander.version') return;
  process.exitCode = typeof code === 'string' && code.startsWith('commander.') ? 2 : reportError(error);
});
