import { sql } from 'kysely';
import {
  envelopePayloadBytes,
  followRotations,
  openDocument,
  parseEnvelope,
  PayloadInvalidError,
  sha256Hex,
  verifySiteCertificate,
} from '../../../trust/index.js';
import { addDirectMembers } from '../../collections/collection-store.js';
import type { SiteDb } from '../../database/site-db.js';
import { toJson } from '../../database/site-db.js';
import { refreshTargeted } from '../../deployments/deployment-store.js';
import { NotFoundError } from '../../site-errors.js';
import { UnknownSiteError } from '../hierarchy-errors.js';
import type { ApplyContext, RecordApplier } from '../links/receiver.js';
import { readRecord, type RecordBody } from '../records.js';
import { certifiedSite, saveSiteCertificate, siteRoot } from '../site-trust.js';
import { rootChain, saveRootDocument } from '../trust-store.js';
import type { HierarchyEvents } from './hierarchy-events.js';

/**
 * Applying what comes down from the parent (docs/hierarchy.md). Objects keep their ids and are
 * marked replicated: read-only here, changed only at the site that created them. Signed documents
 * are opened again with the key of the site that signed them: a policy body with its origin's
 * certified site key (C4, as agents will check it), a root with the rotation rules (C1), a site
 * certificate with the root (C2).
 */
export function downAppliers(events: HierarchyEvents): Record<string, RecordApplier> {
  return {
    package: async (context, item) => applyPackage(context, readRecord('package', item.body), events, true),
    collection: async (context, item) =>
      applyCollection(context, readRecord('collection', item.body), events),
    deployment: async (context, item) =>
      applyDeployment(context, readRecord('deployment', item.body), events),
    root: async (context, item) => applyRoot(context, readRecord('root', item.body).envelope, events),
    certificate: async (context, item) =>
      applyCertificate(context, readRecord('certificate', item.body).envelope, events),
  };
}

/** A secondary site keeps no objects: packages only become content transfers for its DP. */
export function secondaryDownAppliers(events: HierarchyEvents): Record<string, RecordApplier> {
  return {
    package: async (context, item) => applyPackage(context, readRecord('package', item.body), events, false),
    root: async (context, item) => applyRoot(context, readRecord('root', item.body).envelope, events),
    certificate: async (context, item) =>
      applyCertificate(context, readRecord('certificate', item.body).envelope, events),
  };
}

async function markReplicated(
  db: SiteDb,
  objectClass: 'package' | 'collection' | 'deployment',
  id: string,
  originSite: string,
  now: Date,
): Promise<void> {
  await db
    .insertInto('replicated_objects')
    .values({ object_class: objectClass, object_id: id, origin_site: originSite, updated_at: now })
    .onConflict((oc) =>
      oc.columns(['object_class', 'object_id']).doUpdateSet({ origin_site: originSite, updated_at: now }),
    )
    .execute();
}

/** An object created here is never overwritten by one that claims the same id from above. */
async function refuseLocalObject(
  db: SiteDb,
  objectClass: 'package' | 'collection' | 'deployment',
  id: string,
  exists: boolean,
): Promise<void> {
  if (!exists) return;
  const replicated = await db
    .selectFrom('replicated_objects')
    .select('object_id')
    .where('object_class', '=', objectClass)
    .where('object_id', '=', id)
    .executeTakeFirst();
  if (replicated === undefined) {
    throw new PayloadInvalidError(
      `${objectClass} ${id} was created at this site; a parent cannot replace it`,
    );
  }
}

/** A name free at this site: the original, or `name [ORIGIN]` when a local object holds it. */
async function freeName(
  db: SiteDb,
  table: 'packages' | 'collections',
  id: string,
  name: string,
  originSite: string,
): Promise<string> {
  const taken = await db
    .selectFrom(table)
    .select('id')
    .where('name', '=', name)
    .where('id', '<>', id)
    .executeTakeFirst();
  return taken === undefined ? name : `${name} [${originSite}]`.slice(0, 256);
}

async function applyPackage(
  context: ApplyContext,
  body: RecordBody<'package'>,
  events: HierarchyEvents,
  keepObjects: boolean,
): Promise<void> {
  const { trx, now } = context;
  if (keepObjects) {
    const existing = await trx
      .selectFrom('packages')
      .select('id')
      .where('id', '=', body.packageId)
      .executeTakeFirst();
    await refuseLocalObject(trx, 'package', body.packageId, existing !== undefined);
    if (existing === undefined) {
      await trx
        .insertInto('packages')
        .values({
          id: body.packageId,
          name: await freeName(trx, 'packages', body.packageId, body.name, body.originSite),
          description: body.description,
          created_at: now,
        })
        .execute();
    }
    for (const program of body.programs) {
      const values = {
        command_line: program.commandLine,
        working_directory: program.workingDirectory,
        environment: toJson(program.environment),
        time_limit_seconds: program.timeLimitSeconds,
        elevated: program.elevated,
        success_exit_codes: toJson(program.successExitCodes),
      };
      await trx
        .insertInto('programs')
        .values({ package_id: body.packageId, name: program.name, ...values })
        .onConflict((oc) => oc.columns(['package_id', 'name']).doUpdateSet(values))
        .execute();
    }
    await markReplicated(trx, 'package', body.packageId, body.originSite, now);
    const held = await trx
      .selectFrom('package_versions')
      .select('version')
      .where('package_id', '=', body.packageId)
      .where('version', '=', body.version)
      .executeTakeFirst();
    if (held !== undefined) return;
  }
  await trx
    .insertInto('content_transfers')
    .values({
      package_id: body.packageId,
      version: body.version,
      manifest_hash: body.manifestHash,
      source_url: body.sourceUrl,
      state: 'pending',
      last_error: null,
      next_attempt_at: now,
      updated_at: now,
    })
    .onConflict((oc) =>
      oc.columns(['package_id', 'version']).doUpdateSet((eb) => ({
        source_url: body.sourceUrl,
        manifest_hash: body.manifestHash,
        state: sql<
          'pending' | 'done' | 'failed'
        >`case when ${eb.ref('content_transfers.state')} = 'done' and ${eb.ref('content_transfers.manifest_hash')} = ${body.manifestHash} then 'done' else 'pending' end`,
        next_attempt_at: now,
        updated_at: now,
      })),
    )
    .execute();
  context.after(() => events.contentQueued());
}

async function applyCollection(
  context: ApplyContext,
  body: RecordBody<'collection'>,
  events: HierarchyEvents,
): Promise<void> {
  const { trx, now } = context;
  const existing = await trx
    .selectFrom('collections')
    .select('id')
    .where('id', '=', body.collectionId)
    .executeTakeFirst();
  await refuseLocalObject(trx, 'collection', body.collectionId, existing !== undefined);
  const name = await freeName(trx, 'collections', body.collectionId, body.name, body.originSite);
  if (existing === undefined) {
    await trx
      .insertInto('collections')
      .values({
        id: body.collectionId,
        name,
        description: body.description,
        rule: body.rule,
        member_count: 0,
        created_at: now,
        updated_at: now,
        evaluated_at: null,
      })
      .execute();
  } else {
    await trx
      .updateTable('collections')
      .set({ name, description: body.description, rule: body.rule, updated_at: now })
      .where('id', '=', body.collectionId)
      .execute();
  }
  await markReplicated(trx, 'collection', body.collectionId, body.originSite, now);
  const before = (
    await trx
      .selectFrom('collection_members')
      .select('client_id')
      .where('collection_id', '=', body.collectionId)
      .where('direct', '=', true)
      .execute()
  ).map((r) => r.client_id);
  await trx
    .deleteFrom('collection_members')
    .where('collection_id', '=', body.collectionId)
    .where('direct', '=', true)
    .execute();
  // Direct members are the clients the origin named; those that are not clients here are not members here.
  const known: string[] = [];
  for (let start = 0; start < body.directMembers.length; start += 1000) {
    const chunk = body.directMembers.slice(start, start + 1000);
    const rows = await trx.selectFrom('clients').select('id').where('id', 'in', chunk).execute();
    known.push(...rows.map((r) => r.id));
  }
  if (known.length > 0) await addDirectMembers(trx, body.collectionId, known);
  else
    await trx
      .updateTable('collections')
      .set({
        member_count: sql<number>`(select count(*) from collection_members m where m.collection_id = ${body.collectionId})`,
      })
      .where('id', '=', body.collectionId)
      .execute();
  const touched = new Set([...before, ...known]);
  context.after(() => events.collectionChanged(body.collectionId, touched));
}

async function applyDeployment(
  context: ApplyContext,
  body: RecordBody<'deployment'>,
  events: HierarchyEvents,
): Promise<void> {
  const { trx, now } = context;
  const origin = await certifiedSite(trx, body.originSite, now);
  // C4 at the site: the body is signed by the certified key of the site that owns the deployment.
  const opened = openDocument('policy-body', body.policyBody, [origin.key], 1, now);
  const payload = opened.payload;
  if (
    payload.deploymentId !== body.deploymentId ||
    payload.policyId !== body.policyId ||
    payload.version !== body.policyVersion ||
    payload.siteCode !== body.originSite ||
    payload.package.packageId !== body.packageId ||
    payload.package.version !== body.packageVersion
  ) {
    throw new PayloadInvalidError(
      `deployment ${body.deploymentId}: the record and its signed policy body differ`,
    );
  }
  const pkg = await trx
    .selectFrom('packages')
    .select('id')
    .where('id', '=', body.packageId)
    .executeTakeFirst();
  const collection = await trx
    .selectFrom('collections')
    .select('id')
    .where('id', '=', body.collectionId)
    .executeTakeFirst();
  if (pkg === undefined || collection === undefined) {
    throw new NotFoundError(
      `deployment ${body.deploymentId} names package ${body.packageId} or collection ${body.collectionId}, unknown here`,
    );
  }
  const existing = await trx
    .selectFrom('deployments')
    .select(['id', 'policy_version'])
    .where('id', '=', body.deploymentId)
    .executeTakeFirst();
  await refuseLocalObject(trx, 'deployment', body.deploymentId, existing !== undefined);
  const values = {
    name: body.name,
    package_id: body.packageId,
    package_version: body.packageVersion,
    program_name: body.programName,
    collection_id: body.collectionId,
    available_at: body.availableAt,
    mandatory_at: body.mandatoryAt,
    expires_at: body.expiresAt,
    rerun: body.rerun,
    state: body.state,
    policy_id: body.policyId,
    policy_version: body.policyVersion,
    updated_at: now,
  };
  if (existing === undefined) {
    await trx
      .insertInto('deployments')
      .values({ id: body.deploymentId, ...values, created_at: now })
      .execute();
    await trx
      .insertInto('policy_bodies')
      .values({
        policy_id: body.policyId,
        version: body.policyVersion,
        deployment_id: body.deploymentId,
        envelope: body.policyBody,
        hash: opened.hash,
        created_at: now,
      })
      .onConflict((oc) => oc.columns(['policy_id', 'version']).doNothing())
      .execute();
    await trx
      .insertInto('deployment_summaries')
      .values({ deployment_id: body.deploymentId, updated_at: now })
      .onConflict((oc) => oc.column('deployment_id').doNothing())
      .execute();
  } else {
    await trx
      .insertInto('policy_bodies')
      .values({
        policy_id: body.policyId,
        version: body.policyVersion,
        deployment_id: body.deploymentId,
        envelope: body.policyBody,
        hash: opened.hash,
        created_at: now,
      })
      .onConflict((oc) => oc.columns(['policy_id', 'version']).doNothing())
      .execute();
    // An older version arriving late (it cannot, links keep order; but a resync might) changes nothing.
    if (body.policyVersion >= existing.policy_version) {
      await trx.updateTable('deployments').set(values).where('id', '=', body.deploymentId).execute();
    }
  }
  await refreshTargeted(trx, body.deploymentId);
  await markReplicated(trx, 'deployment', body.deploymentId, body.originSite, now);
  const members = await trx
    .selectFrom('collection_members')
    .select('client_id')
    .where('collection_id', '=', body.collectionId)
    .execute();
  context.after(() => events.policyChanged(members.map((m) => m.client_id)));
}

/** C1 at the site: a new root is kept only when it follows from the root held by the rotation rules. */
async function applyRoot(context: ApplyContext, envelope: string, events: HierarchyEvents): Promise<void> {
  const { trx, now } = context;
  const held = await siteRoot(trx, now);
  const next = followRotations(held, [...(await rootChain(trx)), envelope], now);
  if (next.version <= held.version) return;
  const parsed = parseEnvelope(envelope);
  const payloadBytes = envelopePayloadBytes(parsed);
  await saveRootDocument(
    trx,
    { envelope: parsed, encoded: envelope, payloadBytes, hash: sha256Hex(payloadBytes) },
    next.version,
    next.payload.expiresAt,
  );
  context.after(() => events.trustChanged());
}

/**
 * C2 at the site: a site certificate chains to the root; it is kept for this site itself (only for
 * the key this site holds) or for one of its ancestors, whose keys sign what agents here receive.
 */
async function applyCertificate(
  context: ApplyContext,
  envelope: string,
  events: HierarchyEvents,
): Promise<void> {
  const { trx, now } = context;
  const verified = verifySiteCertificate(envelope, await siteRoot(trx, now), now);
  const code = verified.payload.siteCode;
  const local = await trx
    .selectFrom('sites')
    .select(['code', 'site_key_id', 'parent_code'])
    .where('is_local', '=', true)
    .executeTakeFirstOrThrow();
  if (code === local.code) {
    if (verified.key.keyId !== local.site_key_id) {
      throw new PayloadInvalidError(`a certificate for site ${code} certifies a key this site does not hold`);
    }
    await trx
      .updateTable('sites')
      .set({ certificate: envelope, updated_at: now })
      .where('code', '=', code)
      .execute();
  } else {
    if (!(await isAncestor(trx, local.parent_code, code))) {
      throw new UnknownSiteError(`site ${code} is not an ancestor of this site; its certificate is not kept`);
    }
    await trx
      .updateTable('sites')
      .set({ certificate: envelope, site_key_id: verified.key.keyId, updated_at: now })
      .where('code', '=', code)
      .execute();
  }
  await saveSiteCertificate(trx, envelope);
  context.after(() => events.trustChanged());
}

async function isAncestor(db: SiteDb, start: string | null, code: string): Promise<boolean> {
  let current = start;
  for (let depth = 0; current !== null && depth < 64; depth += 1) {
    if (current === code) return true;
    const row: { parent_code: string | null } | undefined = await db
      .selectFrom('sites')
      .select('parent_code')
      .where('code', '=', current)
      .executeTakeFirst();
    current = row?.parent_code ?? null;
  }
  return false;
}
