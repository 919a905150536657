import type { Command } from 'commander';
import { runCommand, UsageError } from '../../protocol/command-line.js';
import { runDemo } from '../demo/demo.js';

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('a central site and agents in a temporary folder: deploy a package and show the result')
    .option('--agents <n>', 'how many agents', '3')
    .option('--keep', 'leave the site and agents running and print their URLs')
    .option('--timeout <seconds>', 'give up after this long', '120')
    .option('--json', 'print one JSON document')
    .action((options: { agents: string; keep?: boolean; timeout: string; json?: boolean }) =>
      runCommand(async () => {
        const agents = Number(options.agents);
        if (!Number.isInteger(agents) || agents < 1 || agents > 50)
          throw new UsageError('--agents is 1 to 50');
        const ok = await runDemo({
          agents,
          keep: options.keep === true,
          json: options.json === true,
          timeoutSeconds: Number(options.timeout),
        });
        if (!ok) process.exitCode = 1;
      }),
    );
}
