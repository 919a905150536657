import type { Command } from 'commander';
import { createOutput, runCommand, table, UsageError } from '../../protocol/command-line.js';
import { ProgressBar } from '../progress-bar.js';
import { adminClientFor, withAdminOptions, type AdminOptions } from './admin-options.js';
import type { DeploymentSummary as SiteDeploymentSummary } from '../../site/deployments/deployment-store.js';

/** A deployment's summary as the admin API answers it (JSON: the date as text). */
export type DeploymentSummary = Omit<SiteDeploymentSummary, 'updatedAt'> & { updatedAt?: string };

interface Deployment {
  id: string;
  name: string;
  packageId: string;
  packageVersion: string;
  programName: string;
  collectionId: string;
  mandatoryAt: string | null;
  rerun: string;
  summary: DeploymentSummary;
}

export function registerDeploymentCommands(program: Command): void {
  const deployment = program.command('deployment').description('deployments of programs to collections');

  withAdminOptions(
    deployment
      .command('create')
      .description('deploy a program of a package to a collection')
      .requiredOption('--package <id>', 'package id')
      .requiredOption('--program <name>', 'program name')
      .requiredOption('--collection <id>', 'collection id')
      .option('--package-version <version>', 'package version (default: the newest)')
      .option('--mandatory', 'run as soon as it is available')
      .option('--available-at <time>', 'ISO time it becomes available')
      .option('--mandatory-at <time>', 'ISO time it becomes mandatory')
      .option('--expires-at <time>', 'ISO time it expires')
      .option('--rerun <rule>', 'never, always, if-failed or if-succeeded', 'never')
      .option('--name <text>', 'deployment name'),
  ).action(
    (
      options: AdminOptions & {
        package: string;
        program: string;
        collection: string;
        packageVersion?: string;
        mandatory?: boolean;
        availableAt?: string;
        mandatoryAt?: string;
        expiresAt?: string;
        rerun: string;
        name?: string;
      },
    ) =>
      runCommand(async () => {
        const out = createOutput(options.json === true);
        const created = await (
          await adminClientFor(options)
        ).post<Deployment>('/deployments', {
          name: options.name ?? null,
          packageId: options.package,
          packageVersion: options.packageVersion ?? null,
          programName: options.program,
          collectionId: options.collection,
          availableAt: options.availableAt ?? null,
          mandatoryAt: options.mandatoryAt ?? null,
          expiresAt: options.expiresAt ?? null,
          mandatory: options.mandatory === true,
          rerun: options.rerun,
        });
        out.result(created, () =>
          out.line(`Deployment ${created.id} "${created.name}" targets ${created.summary.targeted} clients`),
        );
      }),
  );

  withAdminOptions(
    deployment
      .command('update <id>')
      .description('change a deployment: a new policy body version is signed')
      .option('--disable', 'take it out of every assignment list')
      .option('--enable', 'put it back')
      .option('--mandatory-at <time>', 'ISO time it becomes mandatory ("none" to make it available only)')
      .option('--expires-at <time>', 'ISO time it expires ("none" for never)')
      .option('--rerun <rule>', 'never, always, if-failed or if-succeeded'),
  ).action(
    (
      id: string,
      options: AdminOptions & {
        disable?: boolean;
        enable?: boolean;
        mandatoryAt?: string;
        expiresAt?: string;
        rerun?: string;
      },
    ) =>
      runCommand(async () => {
        const out = createOutput(options.json === true);
        if (options.disable === true && options.enable === true)
          throw new UsageError('--disable or --enable, not both');
        const time = (value: string | undefined) =>
          value === undefined ? undefined : value === 'none' ? null : value;
        const changes = {
          ...(options.disable === true
            ? { state: 'disabled' }
            : options.enable === true
              ? { state: 'active' }
              : {}),
          ...(time(options.mandatoryAt) === undefined ? {} : { mandatoryAt: time(options.mandatoryAt) }),
          ...(time(options.expiresAt) === undefined ? {} : { expiresAt: time(options.expiresAt) }),
          ...(options.rerun === undefined ? {} : { rerun: options.rerun }),
        };
        if (Object.keys(changes).length === 0) throw new UsageError('nothing to change');
        const api = await adminClientFor(options);
        const updated = await api.request<Deployment & { policyVersion: number; state: string }>(
          'PUT',
          `/deployments/${encodeURIComponent(id)}`,
          changes,
        );
        out.result(updated, () =>
          out.line(`Deployment ${updated.id} is ${updated.state}, policy version ${updated.policyVersion}`),
        );
      }),
  );

  withAdminOptions(
    deployment
      .command('status <id>')
      .description("a deployment's progress; --watch follows it until every targeted client finished")
      .option('--watch', 'follow until done')
      .option('--timeout <seconds>', 'give up watching after this long', '600'),
  ).action((id: string, options: AdminOptions & { watch?: boolean; timeout: string }) =>
    runCommand(async () => {
      const out = createOutput(options.json === true);
      const api = await adminClientFor(options);
      const deadline = Date.now() + Number(options.timeout) * 1000;
      const bar = new ProgressBar(`Deployment ${id}`, options.watch === true && !out.json);
      let current = await api.get<Deployment>(`/deployments/${encodeURIComponent(id)}`);
      while (options.watch === true && !isFinished(current.summary) && Date.now() < deadline) {
        bar.update(finishedCount(current.summary), current.summary.targeted, describe(current.summary));
        await new Promise((resolve) => setTimeout(resolve, 500));
        current = await api.get<Deployment>(`/deployments/${encodeURIComponent(id)}`);
      }
      bar.update(finishedCount(current.summary), current.summary.targeted, describe(current.summary));
      bar.finish();
      out.result(current, () => {
        const s = current.summary;
        out.line(`Deployment ${current.id} "${current.name}"`);
        out.line(
          table([
            ['TARGETED', 'NOT YET', 'RECEIVED', 'DOWNLOADING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED OUT'],
            [
              s.targeted,
              s.notYetReported,
              s.received,
              s.downloading,
              s.running,
              s.succeeded,
              s.failed,
              s.timedOut,
            ].map(String),
          ]),
        );
      });
    }),
  );
}

export function finishedCount(s: DeploymentSummary): number {
  return s.succeeded + s.failed + s.timedOut;
}

export function isFinished(s: DeploymentSummary): boolean {
  return s.targeted > 0 && finishedCount(s) >= s.targeted;
}

function describe(s: DeploymentSummary): string {
  return `${s.succeeded} succeeded, ${s.failed + s.timedOut} failed, ${s.targeted - finishedCount(s)} to go`;
}
