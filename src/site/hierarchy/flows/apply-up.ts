import { protocolLimits } from '../../../protocol/index.js';
import { acceptReports } from '../../../roles/management-point/report-intake.js';
import { toJson } from '../../database/site-db.js';
import { chunks } from '../../inventory/inventory-store.js';
import { applyStatusMessages } from '../../status/status-store.js';
import { SiteRecordInvalidError, UnknownSiteError } from '../hierarchy-errors.js';
import { parentLink } from '../links/link-store.js';
import { enqueue } from '../links/outbox.js';
import type { ApplyContext, RecordApplier } from '../links/receiver.js';
import { readRecord, record, type RecordBody } from '../records.js';
import { isInSubtreeOf, saveSite } from '../site-trust.js';
import { writeSetting } from '../settings.js';
import { boundaryConflicts, conflictsKey, type BoundaryConflict } from '../boundary-conflicts.js';
import { createBoundary } from '../../boundaries/boundary-store.js';
import { BoundaryOverlapError } from '../../boundaries/boundary-errors.js';
import { ConflictError, NotFoundError } from '../../site-errors.js';
import type { HierarchyEvents } from './hierarchy-events.js';

/**
 * Applying what comes up from a child (docs/hierarchy.md). A child speaks only for itself and the
 * sites below it: a record naming any other site is refused. Clients, discovery, inventory and
 * status then change this site's tables, whose change capture carries them further up; site
 * control and deployment summaries of sites below are relayed up as they came.
 */
export function upAppliers(events: HierarchyEvents): Record<string, RecordApplier> {
  return {
    'site-control': async (context, item) =>
      applySiteControl(context, readRecord('site-control', item.body), events),
    client: async (context, item) => applyClient(context, readRecord('client', item.body)),
    discovery: async (context, item) => applyDiscovery(context, readRecord('discovery', item.body)),
    inventory: async (context, item) => applyInventory(context, readRecord('inventory', item.body)),
    status: async (context, item) => applyStatus(context, readRecord('status', item.body)),
    'deployment-summary': async (context, item) =>
      applySummary(context, readRecord('deployment-summary', item.body), events),
    'client-report': async (context, item) =>
      applyClientReport(context, readRecord('client-report', item.body), events),
  };
}

async function requireBelowLink(context: ApplyContext, siteCode: string): Promise<void> {
  if (siteCode === context.link.site_code) return;
  if (!(await isInSubtreeOf(context.trx, siteCode, context.link.site_code))) {
    throw new UnknownSiteError(
      `site ${context.link.site_code} sent data for site ${siteCode}, which is not below it; refused`,
    );
  }
}

async function relayUp(
  context: ApplyContext,
  item: Parameters<typeof enqueue>[2][number],
  events: HierarchyEvents,
): Promise<void> {
  const parent = await parentLink(context.trx);
  if (parent === undefined) return;
  await enqueue(context.trx, parent.site_code, [item], context.now);
  context.after(() => events.queued());
}

async function applySiteControl(
  context: ApplyContext,
  body: RecordBody<'site-control'>,
  events: HierarchyEvents,
): Promise<void> {
  const { trx, now } = context;
  await requireBelowLink(context, body.siteCode);
  if (body.siteCode === context.link.site_code && body.parentCode !== context.localCode) {
    throw new UnknownSiteError(`site ${body.siteCode} names ${body.parentCode} as its parent, not this site`);
  }
  const held = await trx
    .selectFrom('site_controls')
    .select('version')
    .where('site_code', '=', body.siteCode)
    .executeTakeFirst();
  if (held !== undefined && held.version >= body.version) return;
  await trx
    .insertInto('site_controls')
    .values({
      site_code: body.siteCode,
      parent_code: body.parentCode,
      site_type: body.siteType,
      version: body.version,
      body: toJson(body),
      received_at: now,
    })
    .onConflict((oc) =>
      oc.column('site_code').doUpdateSet({
        parent_code: body.parentCode,
        site_type: body.siteType,
        version: body.version,
        body: toJson(body),
        received_at: now,
      }),
    )
    .execute();
  const known = await trx
    .selectFrom('sites')
    .select('site_key_id')
    .where('code', '=', body.siteCode)
    .executeTakeFirst();
  if (known !== undefined) {
    await saveSite(
      trx,
      {
        code: body.siteCode,
        name: body.name,
        siteType: body.siteType,
        parentCode: body.parentCode,
        siteKeyId: known.site_key_id,
        certificate: null,
      },
      now,
    );
  }
  await applySiteSystems(context, body);
  await applyBoundaries(context, body);
  context.after(() => events.boundariesChanged());
  await relayUp(context, record('site-control', body), events);
}

const siteSystemRoles = new Set(['management-point', 'distribution-point', 'server-locator-point']);

/** The site systems a site below announced (its MPs, proxy MP, DPs), for the locator and monitoring. */
async function applySiteSystems(context: ApplyContext, body: RecordBody<'site-control'>): Promise<void> {
  const { trx, now } = context;
  const systems = body.siteSystems.filter((s) => siteSystemRoles.has(s.role) && s.urls.length > 0);
  const ids = systems.map((s) => `${body.siteCode}-${s.role}-${s.name}`.slice(0, 300));
  await trx
    .deleteFrom('site_systems')
    .where('site_code', '=', body.siteCode)
    .where('embedded', '=', false)
    .$if(ids.length > 0, (q) => q.where('id', 'not in', ids))
    .execute();
  for (const [index, system] of systems.entries()) {
    const values = {
      site_code: body.siteCode,
      role: system.role as 'management-point' | 'distribution-point' | 'server-locator-point',
      name: system.name,
      urls: toJson(system.urls),
      key_id: null,
      certificate: null,
      embedded: false,
      health: 'unknown' as const,
      last_seen_at: now,
    };
    await trx
      .insertInto('site_systems')
      .values({ id: ids[index] ?? system.name, ...values })
      .onConflict((oc) => oc.column('id').doUpdateSet({ urls: values.urls, last_seen_at: now }))
      .execute();
  }
}

/**
 * Boundaries of the sites below (a primary's and its secondary sites'). They replace what this site
 * held for those sites; one that overlaps a boundary of another site here is not taken, and is
 * recorded as a conflict (docs/hierarchy.md, "Boundaries"): only the central site sees every
 * boundary, so only it can find every overlap between sites of different branches.
 */
async function applyBoundaries(context: ApplyContext, body: RecordBody<'site-control'>): Promise<void> {
  const { trx, now } = context;
  for (const code of body.boundarySites) await requireBelowLink(context, code);
  const conflicts: BoundaryConflict[] = [];
  for (const code of body.boundarySites) {
    await trx.deleteFrom('boundaries').where('site_code', '=', code).execute();
    for (const boundary of body.boundaries.filter((b) => b.siteCode === code)) {
      try {
        await createBoundary(trx, {
          siteCode: code,
          value: boundary.value,
          kind: boundary.kind,
          description: `from the site control of ${body.siteCode}`,
        });
      } catch (error) {
        if (!(error instanceof BoundaryOverlapError) && !(error instanceof ConflictError)) throw error;
        conflicts.push({
          siteCode: code,
          boundary: boundary.value,
          problem: error.message,
          at: now.toISOString(),
        });
      }
    }
  }
  const held = await boundaryConflicts(trx);
  await writeSetting(
    trx,
    conflictsKey,
    [...held.filter((c) => !body.boundarySites.includes(c.siteCode)), ...conflicts],
    now,
  );
}

async function applyClient(context: ApplyContext, body: RecordBody<'client'>): Promise<void> {
  await requireBelowLink(context, body.siteCode);
  // A child speaks only for its own clients: one held here for this or another branch is not its to change.
  const held = await context.trx
    .selectFrom('clients')
    .select('site_code')
    .where('id', '=', body.clientId)
    .executeTakeFirst();
  if (held !== undefined) await requireBelowLink(context, held.site_code);
  const values = {
    public_key: body.publicKey,
    site_code: body.siteCode,
    hostname: body.hostname,
    state: body.state,
    mode: body.mode,
    root_source: body.rootSource,
    approved_by: body.state === 'approved' ? `site ${body.siteCode}` : null,
    registered_at: body.registeredAt,
    approved_at: body.approvedAt,
    revoked_at: body.revokedAt,
  };
  await context.trx
    .insertInto('clients')
    .values({ id: body.clientId, ...values, last_seen_at: null })
    .onConflict((oc) => oc.column('id').doUpdateSet(values))
    .execute();
}

/** The client exists here and belongs to the sending child or a site below it. */
async function requireClient(context: ApplyContext, clientId: string): Promise<void> {
  const found = await context.trx
    .selectFrom('clients')
    .select('site_code')
    .where('id', '=', clientId)
    .executeTakeFirst();
  if (found === undefined) throw new NotFoundError(`client ${clientId} is not known here`);
  await requireBelowLink(context, found.site_code);
}

async function applyDiscovery(context: ApplyContext, body: RecordBody<'discovery'>): Promise<void> {
  const { trx } = context;
  await requireClient(context, body.clientId);
  const values = {
    hostname: body.hostname,
    domain: body.domain,
    addresses: toJson(body.addresses),
    agent_version: body.agentVersion,
    updated_at: body.updatedAt,
  };
  await trx
    .insertInto('discovery')
    .values({ client_id: body.clientId, ...values })
    .onConflict((oc) => oc.column('client_id').doUpdateSet(values))
    .execute();
  await trx
    .updateTable('clients')
    .set({ last_seen_at: body.updatedAt })
    .where('id', '=', body.clientId)
    .execute();
}

async function applyInventory(context: ApplyContext, body: RecordBody<'inventory'>): Promise<void> {
  const { trx } = context;
  await requireClient(context, body.clientId);
  await trx.deleteFrom('inventory_facts').where('client_id', '=', body.clientId).execute();
  await trx.deleteFrom('inventory_software').where('client_id', '=', body.clientId).execute();
  const facts = Object.entries(body.facts)
    .slice(0, protocolLimits.maxInventoryFacts + 1)
    .map(([name, value]) => {
      const number = value.trim() === '' ? Number.NaN : Number(value);
      return { client_id: body.clientId, name, value, num: Number.isFinite(number) ? number : null };
    });
  for (const chunk of chunks(facts, 500)) await trx.insertInto('inventory_facts').values(chunk).execute();
  const software = [...new Map(body.software.map((s) => [`${s.name}\u0000${s.arch}`, s])).values()];
  for (const chunk of chunks(software, 500)) {
    await trx
      .insertInto('inventory_software')
      .values(chunk.map((s) => ({ client_id: body.clientId, ...s })))
      .execute();
  }
  await trx
    .insertInto('inventory_history')
    .values({
      client_id: body.clientId,
      received_at: body.updatedAt,
      full: true,
      delta: toJson({ replicated: true }),
    })
    .execute();
}

async function applyStatus(context: ApplyContext, body: RecordBody<'status'>): Promise<void> {
  const { trx, now } = context;
  await requireBelowLink(context, body.siteCode);
  const client =
    body.clientId === null
      ? undefined
      : await trx
          .selectFrom('clients')
          .select('site_code')
          .where('id', '=', body.clientId)
          .executeTakeFirst();
  if (client !== undefined) await requireBelowLink(context, client.site_code);
  if (client !== undefined && body.clientId !== null) {
    await applyStatusMessages(
      trx,
      body.siteCode,
      [
        {
          messageId: body.messageId,
          clientId: body.clientId,
          machine: body.machine,
          message: {
            statusId: body.statusId,
            deploymentId: body.deploymentId,
            policyVersion: null,
            occurredAt: body.occurredAt,
            insertionStrings: body.insertionStrings,
            exitCode: null,
            outputTail: null,
          },
        },
      ],
      now,
    );
    return;
  }
  // A message of no known client (a site's own, or a client not seen yet) is kept as a message only.
  await trx
    .insertInto('status_messages')
    .values({
      message_id: body.messageId,
      client_id: body.clientId,
      site_code: body.siteCode,
      deployment_id: body.deploymentId,
      status_id: body.statusId,
      severity: body.severity,
      component: body.component,
      machine: body.machine,
      occurred_at: body.occurredAt,
      received_at: now,
      insertion_strings: toJson(body.insertionStrings),
    })
    .onConflict((oc) => oc.column('message_id').doNothing())
    .execute();
}

async function applySummary(
  context: ApplyContext,
  body: RecordBody<'deployment-summary'>,
  events: HierarchyEvents,
): Promise<void> {
  const { trx } = context;
  await requireBelowLink(context, body.siteCode);
  await trx
    .insertInto('site_deployment_summaries')
    .values({
      deployment_id: body.deploymentId,
      site_code: body.siteCode,
      summary: toJson(body.summary),
      updated_at: body.updatedAt,
    })
    .onConflict((oc) =>
      oc
        .columns(['deployment_id', 'site_code'])
        .doUpdateSet({ summary: toJson(body.summary), updated_at: body.updatedAt }),
    )
    .execute();
  const replicated = await trx
    .selectFrom('replicated_objects')
    .select('origin_site')
    .where('object_class', '=', 'deployment')
    .where('object_id', '=', body.deploymentId)
    .executeTakeFirst();
  if (replicated !== undefined) await relayUp(context, record('deployment-summary', body), events);
}

/**
 * Reports a secondary site's proxy management point received: S2 here, as if the client had sent
 * them to this site's MP (signed by the registered client key, approved, for this site, in date).
 * Refused reports are counted as skipped records; stored ones wake the inbox processor.
 */
async function applyClientReport(
  context: ApplyContext,
  body: RecordBody<'client-report'>,
  events: HierarchyEvents,
): Promise<void> {
  if (context.link.site_type !== 'secondary') {
    throw new UnknownSiteError('client reports are forwarded only by secondary sites');
  }
  const answer = await acceptReports(context.trx, context.localCode, [body.envelope], context.now);
  const result = answer.results[0];
  if (result?.status === 'rejected') {
    throw new SiteRecordInvalidError(`a forwarded client report was refused: ${result.code ?? 'rejected'}`);
  }
  if (result?.status === 'stored') context.after(() => events.reportsStored());
}
