import { randomId, type SignedDocument } from '../../trust/index.js';
import type { SiteDb } from '../database/site-db.js';
import { inTransaction, toJson } from '../database/site-db.js';
import { NotFoundError } from '../site-errors.js';

export interface ProgramDefinition {
  name: string;
  commandLine: string;
  workingDirectory: string;
  environment: Record<string, string>;
  timeLimitSeconds: number;
  elevated: boolean;
  successExitCodes: number[];
}

export interface PackageVersionRecord {
  packageId: string;
  name: string;
  version: string;
  manifestHash: string;
  totalSize: number;
  fileCount: number;
  createdAt: Date;
  programs: ProgramDefinition[];
}

/** The id of the package with this name, creating the package row when it is new. */
export async function packageIdFor(db: SiteDb, name: string, siteCode: string, now: Date): Promise<string> {
  const existing = await db.selectFrom('packages').select('id').where('name', '=', name).executeTakeFirst();
  if (existing !== undefined) return existing.id;
  const id = `${siteCode}-${randomId().slice(0, 8)}`;
  await db.insertInto('packages').values({ id, name, description: '', created_at: now }).execute();
  return id;
}

/** Records an imported package version and its programs (the content is already in the library). */
export async function savePackageVersion(
  db: SiteDb,
  input: {
    packageId: string;
    version: string;
    manifest: SignedDocument;
    totalSize: number;
    fileCount: number;
    programs: readonly ProgramDefinition[];
  },
  now: Date,
): Promise<void> {
  await inTransaction(db, async (trx) => {
    await trx
      .insertInto('package_versions')
      .values({
        package_id: input.packageId,
        version: input.version,
        manifest: input.manifest.encoded,
        manifest_hash: input.manifest.hash,
        total_size: input.totalSize,
        file_count: input.fileCount,
        created_at: now,
      })
      .execute();
    for (const program of input.programs) {
      await trx
        .insertInto('programs')
        .values({
          package_id: input.packageId,
          name: program.name,
          command_line: program.commandLine,
          working_directory: program.workingDirectory,
          environment: toJson(program.environment),
          time_limit_seconds: program.timeLimitSeconds,
          elevated: program.elevated,
          success_exit_codes: toJson(program.successExitCodes),
        })
        .onConflict((oc) =>
          oc.columns(['package_id', 'name']).doUpdateSet({
            command_line: program.commandLine,
            working_directory: program.workingDirectory,
            environment: toJson(program.environment),
            time_limit_seconds: program.timeLimitSeconds,
            elevated: program.elevated,
            success_exit_codes: toJson(program.successExitCodes),
          }),
        )
        .execute();
    }
  });
}

export async function listPackages(db: SiteDb): Promise<PackageVersionRecord[]> {
  const rows = await db
    .selectFrom('package_versions as v')
    .innerJoin('packages as p', 'p.id', 'v.package_id')
    .select([
      'v.package_id',
      'p.name',
      'v.version',
      'v.manifest_hash',
      'v.total_size',
      'v.file_count',
      'v.created_at',
    ])
    .orderBy('p.name')
    .orderBy('v.created_at')
    .execute();
  const programs = await db.selectFrom('programs').selectAll().execute();
  return rows.map((row) => ({
    packageId: row.package_id,
    name: row.name,
    version: row.version,
    manifestHash: row.manifest_hash,
    totalSize: row.total_size,
    fileCount: row.file_count,
    createdAt: new Date(row.created_at),
    programs: programs.filter((p) => p.package_id === row.package_id).map(toProgram),
  }));
}

export async function getPackageVersion(
  db: SiteDb,
  packageId: string,
  version: string | null,
): Promise<PackageVersionRecord & { manifest: string }> {
  let q = db
    .selectFrom('package_versions as v')
    .innerJoin('packages as p', 'p.id', 'v.package_id')
    .select([
      'v.package_id',
      'p.name',
      'v.version',
      'v.manifest',
      'v.manifest_hash',
      'v.total_size',
      'v.file_count',
      'v.created_at',
    ])
    .where('v.package_id', '=', packageId);
  q = version === null ? q.orderBy('v.created_at', 'desc').limit(1) : q.where('v.version', '=', version);
  const row = await q.executeTakeFirst();
  if (row === undefined) {
    throw new NotFoundError(
      `package ${packageId}${version === null ? '' : ` version ${version}`} does not exist`,
    );
  }
  const programs = await db.selectFrom('programs').selectAll().where('package_id', '=', packageId).execute();
  return {
    packageId: row.package_id,
    name: row.name,
    version: row.version,
    manifest: row.manifest,
    manifestHash: row.manifest_hash,
    totalSize: row.total_size,
    fileCount: row.file_count,
    createdAt: new Date(row.created_at),
    programs: programs.map(toProgram),
  };
}

function toProgram(row: {
  name: string;
  command_line: string;
  working_directory: string;
  environment: Record<string, string>;
  time_limit_seconds: number;
  elevated: boolean;
  success_exit_codes: number[];
}): ProgramDefinition {
  return {
    name: row.name,
    commandLine: row.command_line,
    workingDirectory: row.working_directory,
    environment: row.environment,
    timeLimitSeconds: row.time_limit_seconds,
    elevated: row.elevated,
    successExitCodes: row.success_exit_codes,
  };
}
