import { Command } from 'commander';
import { stewardVersion } from '../site/version.js';
import { registerAgentCommands } from '../agent/agent-commands.js';
import { registerAuditCommand } from './commands/audit.js';
import { registerAuditLogCommands } from './commands/audit-log.js';
import { registerBoundaryCommands } from './commands/boundary.js';
import { registerClientCommands } from './commands/client.js';
import { registerClientPushCommand } from './commands/client-push.js';
import { registerCollectionCommands } from './commands/collection.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerDirectoryCommands } from './commands/directory.js';
import { registerDeploymentCommands } from './commands/deployment.js';
import { registerPackageCommands } from './commands/package.js';
import { registerSiteCommands } from './commands/site.js';
import { registerLegacyClientCommands } from './commands/legacy-clients.js';
import { registerTrustCommands } from './commands/trust.js';

/** `steward`: one command with subcommands (DESIGN.md section 9). */
export function buildProgram(): Command {
  const program = new Command('steward')
    .description('Steward: secure systems management')
    .version(stewardVersion)
    .enablePositionalOptions()
    .showHelpAfterError()
    .exitOverride();
  registerSiteCommands(program);
  registerLegacyClientCommands(program);
  registerPackageCommands(program);
  registerCollectionCommands(program);
  registerDeploymentCommands(program);
  registerClientCommands(program);
  registerClientPushCommand(program);
  registerTrustCommands(program);
  registerAuditLogCommands(program);
  registerAuditCommand(program);
  registerBoundaryCommands(program);
  registerDirectoryCommands(program);
  registerAgentCommands(program);
  registerDemoCommand(program);
  return program;
}
