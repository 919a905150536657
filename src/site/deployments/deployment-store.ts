import { sql } from 'kysely';
import { randomId, type SigningKey } from '../../trust/index.js';
import type { Selectable } from 'kysely';
import type { DeploymentTable } from '../database/schema.js';
import { inTransaction, type SiteDb } from '../database/site-db.js';
import { getPackageVersion } from '../packages/package-store.js';
import { requireCollection } from '../collections/collection-store.js';
import { InvalidRequestError, NotFoundError } from '../site-errors.js';
import { signPolicyBody, type DeploymentDefinition } from './policy-body-builder.js';

export interface DeploymentInput {
  name: string | null;
  packageId: string;
  packageVersion: string | null;
  programName: string;
  collectionId: string;
  availableAt: Date;
  mandatoryAt: Date | null;
  expiresAt: Date | null;
  rerun: DeploymentTable['rerun'];
}

export interface PolicySigningContext {
  siteCode: string;
  siteKey: SigningKey;
  contentUrls: readonly string[];
}

export interface DeploymentRecord {
  id: string;
  name: string;
  packageId: string;
  packageVersion: string;
  programName: string;
  collectionId: string;
  availableAt: Date;
  mandatoryAt: Date | null;
  expiresAt: Date | null;
  rerun: DeploymentTable['rerun'];
  state: DeploymentTable['state'];
  policyId: string;
  policyVersion: number;
  createdAt: Date;
}

/**
 * Creates a deployment: program + collection + schedule + rerun rule, signed into a policy body
 * (DESIGN.md section 5). The change and its summary row commit together.
 */
export async function createDeployment(
  db: SiteDb,
  input: DeploymentInput,
  signing: PolicySigningContext,
  now: Date,
): Promise<DeploymentRecord> {
  if (input.mandatoryAt !== null && input.mandatoryAt < input.availableAt) {
    throw new InvalidRequestError('mandatoryAt must not be before availableAt');
  }
  if (input.expiresAt !== null && input.expiresAt <= input.availableAt) {
    throw new InvalidRequestError('expiresAt must be after availableAt');
  }
  return inTransaction(db, async (trx) => {
    const pkg = await getPackageVersion(trx, input.packageId, input.packageVersion);
    const program = pkg.programs.find((p) => p.name === input.programName);
    if (program === undefined) {
      throw new NotFoundError(`package ${pkg.packageId} has no program named "${input.programName}"`);
    }
    const collection = await requireCollection(trx, input.collectionId);
    const id = `${signing.siteCode}-dep-${randomId().slice(0, 10)}`;
    const definition: DeploymentDefinition = {
      id,
      policyId: `${signing.siteCode}-pol-${randomId().slice(0, 10)}`,
      policyVersion: 1,
      packageId: pkg.packageId,
      packageVersion: pkg.version,
      manifestHash: pkg.manifestHash,
      program,
      availableAt: input.availableAt,
      mandatoryAt: input.mandatoryAt,
      expiresAt: input.expiresAt,
      rerun: input.rerun,
    };
    const body = signPolicyBody(definition, { ...signing, now });
    await trx
      .insertInto('deployments')
      .values({
        id,
        name: input.name ?? `${pkg.name} ${pkg.version} ${program.name} to ${collection.name}`,
        package_id: pkg.packageId,
        package_version: pkg.version,
        program_name: program.name,
        collection_id: collection.id,
        available_at: input.availableAt,
        mandatory_at: input.mandatoryAt,
        expires_at: input.expiresAt,
        rerun: input.rerun,
        state: 'active',
        policy_id: definition.policyId,
        policy_version: 1,
        created_at: now,
        updated_at: now,
      })
      .execute();
    await trx
      .insertInto('policy_bodies')
      .values({
        policy_id: definition.policyId,
        version: 1,
        deployment_id: id,
        envelope: body.encoded,
        hash: body.hash,
        created_at: now,
      })
      .execute();
    await trx.insertInto('deployment_summaries').values({ deployment_id: id, updated_at: now }).execute();
    await refreshTargeted(trx, id);
    return requireDeployment(trx, id);
  });
}

/** Recounts the approved members a deployment targets (after membership or approval changes). */
export async function refreshTargeted(db: SiteDb, deploymentId: string): Promise<void> {
  await db
    .updateTable('deployment_summaries')
    .set({
      targeted: sql<number>`(select count(*) from collection_members m
        join clients c on c.id = m.client_id and c.state = 'approved'
        join deployments d on d.collection_id = m.collection_id
        where d.id = ${deploymentId})`,
    })
    .where('deployment_id', '=', deploymentId)
    .execute();
}

/** Deployments that target any of these collections. */
export async function deploymentsOfCollections(
  db: SiteDb,
  collectionIds: readonly string[],
): Promise<string[]> {
  if (collectionIds.length === 0) return [];
  return (
    await db.selectFrom('deployments').select('id').where('collection_id', 'in', collectionIds).execute()
  ).map((r) => r.id);
}

const columns = [
  'id',
  'name',
  'package_id',
  'package_version',
  'program_name',
  'collection_id',
  'available_at',
  'mandatory_at',
  'expires_at',
  'rerun',
  'state',
  'policy_id',
  'policy_version',
  'created_at',
] as const;

type Row = Pick<Selectable<DeploymentTable>, (typeof columns)[number]>;

function toRecord(row: Row): DeploymentRecord {
  const date = (v: Date | string | null) => (v === null ? null : new Date(v));
  return {
    id: row.id,
    name: row.name,
    packageId: row.package_id,
    packageVersion: row.package_version,
    programName: row.program_name,
    collectionId: row.collection_id,
    availableAt: new Date(row.available_at),
    mandatoryAt: date(row.mandatory_at),
    expiresAt: date(row.expires_at),
    rerun: row.rerun,
    state: row.state,
    policyId: row.policy_id,
    policyVersion: row.policy_version,
    createdAt: new Date(row.created_at),
  };
}

export async function requireDeployment(db: SiteDb, id: string): Promise<DeploymentRecord> {
  const row = await db.selectFrom('deployments').select(columns).where('id', '=', id).executeTakeFirst();
  if (row === undefined) throw new NotFoundError(`deployment ${id} does not exist`);
  return toRecord(row);
}

export async function listDeployments(db: SiteDb): Promise<DeploymentRecord[]> {
  return (await db.selectFrom('deployments').select(columns).orderBy('created_at', 'desc').execute()).map(
    toRecord,
  );
}

export interface DeploymentSummary {
  targeted: number;
  received: number;
  downloading: number;
  running: number;
  succeeded: number;
  failed: number;
  timedOut: number;
  notYetReported: number;
  updatedAt: Date;
}

export async function deploymentSummary(db: SiteDb, id: string): Promise<DeploymentSummary> {
  const row = await db
    .selectFrom('deployment_summaries')
    .selectAll()
    .where('deployment_id', '=', id)
    .executeTakeFirst();
  if (row === undefined) throw new NotFoundError(`deployment ${id} does not exist`);
  const reported = row.received + row.downloading + row.running + row.succeeded + row.failed + row.timed_out;
  return {
    targeted: row.targeted,
    received: row.received,
    downloading: row.downloading,
    running: row.running,
    succeeded: row.succeeded,
    failed: row.failed,
    timedOut: row.timed_out,
    notYetReported: Math.max(0, row.targeted - reported),
    updatedAt: new Date(row.updated_at),
  };
}

export async function deploymentClientStates(
  db: SiteDb,
  id: string,
  page: { limit: number; after?: string | undefined },
): Promise<
  {
    clientId: string;
    hostname: string;
    state: string;
    statusId: number | null;
    exitCode: number | null;
    detail: string;
    updatedAt: Date;
  }[]
> {
  let q = db
    .selectFrom('deployment_client_states as s')
    .innerJoin('clients as c', 'c.id', 's.client_id')
    .select([
      's.client_id',
      'c.hostname',
      's.state',
      's.status_id',
      's.exit_code',
      's.detail',
      's.updated_at',
    ])
    .where('s.deployment_id', '=', id)
    .orderBy('s.client_id')
    .limit(page.limit);
  if (page.after !== undefined) q = q.where('s.client_id', '>', page.after);
  return (await q.execute()).map((r) => ({
    clientId: r.client_id,
    hostname: r.hostname,
    state: r.state,
    statusId: r.status_id,
    exitCode: r.exit_code,
    detail: r.detail,
    updatedAt: new Date(r.updated_at),
  }));
}
