import { resolve } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../cli-errors.js';
import { createOutput, runCommand, table } from '../../protocol/command-line.js';
import { ProgressBar } from '../progress-bar.js';
import { adminClientFor, withAdminOptions, type AdminOptions } from './admin-options.js';
import { waitForJob } from './jobs.js';

interface PackageVersion {
  packageId: string;
  name: string;
  version: string;
  manifestHash: string;
  totalSize: number;
  fileCount: number;
  programs: { name: string; commandLine: string }[];
}

export function registerPackageCommands(program: Command): void {
  const pkg = program.command('package').description('software packages');

  withAdminOptions(
    pkg
      .command('create')
      .description('import a folder as a package version: every file hashed, the manifest signed by the site')
      .requiredOption('--source <dir>', 'the folder to import (read by the site server)')
      .requiredOption('--name <text>', 'package name')
      .requiredOption('--version <text>', 'package version')
      .option('--program <name=commandline...>', 'a program: NAME=COMMAND LINE (repeatable)', collect, [])
      .option('--time-limit <seconds>', 'time limit of each program', '3600'),
  ).action(
    (
      options: AdminOptions & {
        source: string;
        name: string;
        version: string;
        program: string[];
        timeLimit: string;
      },
    ) =>
      runCommand(async () => {
        const out = createOutput(options.json === true);
        if (options.program.length === 0)
          throw new UsageError('give at least one --program NAME=COMMANDLINE');
        const programs = options.program.map((text) => {
          const at = text.indexOf('=');
          if (at <= 0 || at === text.length - 1)
            throw new UsageError(`--program must be NAME=COMMANDLINE (got "${text}")`);
          return {
            name: text.slice(0, at),
            commandLine: text.slice(at + 1),
            timeLimitSeconds: Number(options.timeLimit),
          };
        });
        const client = await adminClientFor(options);
        const job = await client.post<{ id: string }>('/packages', {
          name: options.name,
          version: options.version,
          sourcePath: resolve(options.source),
          programs,
        });
        const bar = new ProgressBar(`Importing ${options.name} ${options.version}`, !out.json);
        const result = await waitForJob<PackageVersion>(client, job.id, (p) =>
          bar.update(p.done, p.total, `${p.done} of ${p.total} bytes`),
        );
        bar.finish();
        out.result(result, () => {
          out.line(
            `Package ${result.packageId} "${result.name}" version ${result.version}: ${result.fileCount} files, ${result.totalSize} bytes`,
          );
          out.line(`  manifest sha256: ${result.manifestHash}`);
          for (const p of result.programs) out.line(`  program ${p.name}: ${p.commandLine}`);
        });
      }),
  );

  withAdminOptions(pkg.command('list').description('list packages')).action((options: AdminOptions) =>
    runCommand(async () => {
      const out = createOutput(options.json === true);
      const { items } = await (await adminClientFor(options)).get<{ items: PackageVersion[] }>('/packages');
      out.result(items, () =>
        out.line(
          table([
            ['ID', 'NAME', 'VERSION', 'FILES', 'BYTES', 'PROGRAMS'],
            ...items.map((p) => [
              p.packageId,
              p.name,
              p.version,
              String(p.fileCount),
              String(p.totalSize),
              p.programs.map((x) => x.name).join(','),
            ]),
          ]),
        ),
      );
    }),
  );
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
