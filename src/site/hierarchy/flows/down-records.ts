import type { SiteDb } from '../../database/site-db.js';
import type { ChildSiteType } from '../hierarchy-schema.js';
import { record, type OutboundRecord, type RecordType } from '../records.js';

/**
 * What flows down (docs/hierarchy.md): the root chain and the site certificates of this site and
 * its ancestors, packages (metadata; the child pulls content from this site's distribution point),
 * collections and deployments with their signed policy bodies. A secondary site takes only what
 * its distribution points and proxy management point need: roots, certificates, packages.
 */
export const secondaryRecordTypes: ReadonlySet<RecordType> = new Set(['root', 'certificate', 'package']);

export function childTakes(childType: ChildSiteType | 'central', type: RecordType): boolean {
  return childType !== 'secondary' || secondaryRecordTypes.has(type);
}

/** The site that created a replicated object, or this site. */
async function originOf(
  db: SiteDb,
  objectClass: 'package' | 'collection' | 'deployment',
  id: string,
  localCode: string,
): Promise<string> {
  const row = await db
    .selectFrom('replicated_objects')
    .select('origin_site')
    .where('object_class', '=', objectClass)
    .where('object_id', '=', id)
    .executeTakeFirst();
  return row?.origin_site ?? localCode;
}

/** Every version of a package whose content this site holds (package_versions rows). */
export async function packageRecords(
  db: SiteDb,
  packageId: string,
  localCode: string,
  sourceUrl: string,
): Promise<OutboundRecord<'package'>[]> {
  const pkg = await db
    .selectFrom('packages')
    .select(['id', 'name', 'description'])
    .where('id', '=', packageId)
    .executeTakeFirst();
  if (pkg === undefined) return [];
  const versions = await db
    .selectFrom('package_versions')
    .select(['version', 'manifest_hash', 'total_size', 'file_count'])
    .where('package_id', '=', packageId)
    .orderBy('created_at')
    .execute();
  const programs = await db.selectFrom('programs').selectAll().where('package_id', '=', packageId).execute();
  if (programs.length === 0) return [];
  const originSite = await originOf(db, 'package', packageId, localCode);
  const name = await originalName(db, 'package', packageId, pkg.name);
  return versions.map((version) =>
    record('package', {
      originSite,
      packageId,
      name,
      description: pkg.description,
      version: version.version,
      manifestHash: version.manifest_hash,
      totalSize: version.total_size,
      fileCount: version.file_count,
      programs: programs.map((p) => ({
        name: p.name,
        commandLine: p.command_line,
        workingDirectory: p.working_directory,
        environment: p.environment,
        timeLimitSeconds: p.time_limit_seconds,
        elevated: p.elevated,
        successExitCodes: p.success_exit_codes,
      })),
      sourceUrl,
    }),
  );
}

/** Names of replicated objects may carry a ` [XYZ]` suffix where they clashed; children get the original. */
async function originalName(
  db: SiteDb,
  objectClass: 'package' | 'collection',
  id: string,
  name: string,
): Promise<string> {
  const row = await db
    .selectFrom('replicated_objects')
    .select('origin_site')
    .where('object_class', '=', objectClass)
    .where('object_id', '=', id)
    .executeTakeFirst();
  const suffix = row === undefined ? '' : ` [${row.origin_site}]`;
  return suffix !== '' && name.endsWith(suffix) ? name.slice(0, -suffix.length) : name;
}

export async function collectionRecord(
  db: SiteDb,
  collectionId: string,
  localCode: string,
): Promise<OutboundRecord<'collection'> | undefined> {
  const row = await db
    .selectFrom('collections')
    .select(['id', 'name', 'description', 'rule'])
    .where('id', '=', collectionId)
    .executeTakeFirst();
  if (row === undefined) return undefined;
  const members = await db
    .selectFrom('collection_members')
    .select('client_id')
    .where('collection_id', '=', collectionId)
    .where('direct', '=', true)
    .orderBy('client_id')
    .limit(100_000)
    .execute();
  return record('collection', {
    originSite: await originOf(db, 'collection', collectionId, localCode),
    collectionId,
    name: await originalName(db, 'collection', collectionId, row.name),
    description: row.description,
    rule: row.rule,
    directMembers: members.map((m) => m.client_id),
  });
}

export async function deploymentRecord(
  db: SiteDb,
  deploymentId: string,
  localCode: string,
): Promise<OutboundRecord<'deployment'> | undefined> {
  const row = await db
    .selectFrom('deployments as d')
    .innerJoin('policy_bodies as b', (join) =>
      join.onRef('b.policy_id', '=', 'd.policy_id').onRef('b.version', '=', 'd.policy_version'),
    )
    .selectAll('d')
    .select('b.envelope')
    .where('d.id', '=', deploymentId)
    .executeTakeFirst();
  if (row === undefined) return undefined;
  const iso = (value: Date | string | null) => (value === null ? null : new Date(value).toISOString());
  return record('deployment', {
    originSite: await originOf(db, 'deployment', deploymentId, localCode),
    deploymentId,
    name: row.name,
    packageId: row.package_id,
    packageVersion: row.package_version,
    programName: row.program_name,
    collectionId: row.collection_id,
    availableAt: new Date(row.available_at).toISOString(),
    mandatoryAt: iso(row.mandatory_at),
    expiresAt: iso(row.expires_at),
    rerun: row.rerun,
    state: row.state,
    policyId: row.policy_id,
    policyVersion: row.policy_version,
    policyBody: row.envelope,
  });
}

export async function rootRecord(db: SiteDb, version: number): Promise<OutboundRecord<'root'> | undefined> {
  const row = await db
    .selectFrom('root_documents')
    .select('envelope')
    .where('version', '=', version)
    .executeTakeFirst();
  return row === undefined ? undefined : record('root', { envelope: row.envelope });
}

/** Site certificates of this site and its ancestors (MP certificates stay at their site). */
export async function certificateRecord(
  db: SiteDb,
  hash: string,
): Promise<OutboundRecord<'certificate'> | undefined> {
  const row = await db
    .selectFrom('certificates')
    .select(['envelope', 'kind'])
    .where('hash', '=', hash)
    .executeTakeFirst();
  return row === undefined || row.kind !== 'site-certificate'
    ? undefined
    : record('certificate', { envelope: row.envelope });
}

/** Everything a new child needs, in dependency order, for its first synchronisation. */
export async function initialSyncRecords(
  db: SiteDb,
  childType: ChildSiteType,
  localCode: string,
  sourceUrl: string,
): Promise<OutboundRecord[]> {
  const records: OutboundRecord[] = [];
  for (const row of await db.selectFrom('root_documents').select('version').orderBy('version').execute()) {
    const item = await rootRecord(db, row.version);
    if (item !== undefined) records.push(item);
  }
  for (const row of await db
    .selectFrom('certificates')
    .select('hash')
    .where('kind', '=', 'site-certificate')
    .where('revoked_at', 'is', null)
    .orderBy('issued_at')
    .execute()) {
    const item = await certificateRecord(db, row.hash);
    if (item !== undefined) records.push(item);
  }
  for (const row of await db.selectFrom('packages').select('id').orderBy('created_at').execute()) {
    records.push(...(await packageRecords(db, row.id, localCode, sourceUrl)));
  }
  if (childType === 'primary') {
    for (const row of await db.selectFrom('collections').select('id').orderBy('created_at').execute()) {
      const item = await collectionRecord(db, row.id, localCode);
      if (item !== undefined) records.push(item);
    }
    for (const row of await db.selectFrom('deployments').select('id').orderBy('created_at').execute()) {
      const item = await deploymentRecord(db, row.id, localCode);
      if (item !== undefined) records.push(item);
    }
  }
  return records;
}
