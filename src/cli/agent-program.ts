import { Command } from 'commander';
import { registerAgentCommands } from '../agent/agent-commands.js';
import { stewardVersion } from '../site/version.js';

/** `steward agent ...`: the same program as buildProgram, with the agent's commands only. */
export function buildAgentProgram(): Command {
  const program = new Command('steward')
    .description('Steward: secure systems management')
    .version(stewardVersion)
    .enablePositionalOptions()
    .showHelpAfterError()
    .exitOverride();
  registerAgentCommands(program);
  return program;
}
