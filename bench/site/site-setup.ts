import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { waitForJob } from '../../src/cli/commands/jobs.js';
import type { DeploymentSummary } from '../../src/site/deployments/deployment-store.js';
import { SeededRandom } from '../harness/rng.js';
import type { RunningBenchSite } from './bench-site.js';

/** Administrator actions through the admin API (/api/v1), as `steward package|collection|deployment` do. */

export interface ImportedPackage {
  packageId: string;
  version: string;
  manifestHash: string;
}

/** Writes seeded random files into `sourceDir`, imports them as a package and waits for the job. */
export async function importPackage(
  site: RunningBenchSite,
  sourceDir: string,
  input: { name: string; seed: number; files: readonly { path: string; bytes: number }[] },
): Promise<ImportedPackage> {
  const random = SeededRandom.derive(input.seed, `package-${input.name}`);
  for (const file of input.files) {
    const target = join(sourceDir, file.path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, random.bytes(file.bytes));
  }
  const job = await site.admin.post<{ id: string }>('/packages', {
    name: input.name,
    version: '1.0',
    sourcePath: sourceDir,
    programs: [{ name: 'install', commandLine: 'sh install.sh', timeLimitSeconds: 600 }],
  });
  const result = await waitForJob<{ packageId: string; version: string; manifestHash: string }>(
    site.admin,
    job.id,
    () => undefined,
  );
  return { packageId: result.packageId, version: result.version, manifestHash: result.manifestHash };
}

/** A collection with these clients as direct members (added 10,000 per request, the API's limit). */
export async function createDirectCollection(
  site: RunningBenchSite,
  name: string,
  clientIds: readonly string[],
): Promise<string> {
  const first = clientIds.slice(0, 10_000);
  const created = await site.admin.post<{ id: string }>('/collections', {
    name,
    rule: null,
    clientIds: first,
  });
  for (let at = 10_000; at < clientIds.length; at += 10_000) {
    await site.admin.post(`/collections/${created.id}/members`, {
      clientIds: clientIds.slice(at, at + 10_000),
    });
  }
  return created.id;
}

/** A mandatory deployment of the package's "install" program to the collection. */
export async function createMandatoryDeployment(
  site: RunningBenchSite,
  packageId: string,
  collectionId: string,
): Promise<string> {
  const deployment = await site.admin.post<{ id: string }>('/deployments', {
    packageId,
    programName: 'install',
    collectionId,
    mandatory: true,
  });
  return deployment.id;
}

export async function deploymentSummary(
  site: RunningBenchSite,
  deploymentId: string,
): Promise<DeploymentSummary> {
  return (await site.admin.get<{ summary: DeploymentSummary }>(`/deployments/${deploymentId}`)).summary;
}
