import { statusById } from '../../../protocol/index.js';
import type { SiteDb } from '../../database/site-db.js';
import { record, type OutboundRecord } from '../records.js';
import type { StatusForwarding } from '../settings.js';

/**
 * What flows up (docs/hierarchy.md): clients and their discovery and inventory, status messages
 * (as the status forwarding rule allows), and this site's summaries of deployments that came from
 * above. The site signs them (S3): the parent trusts a child site for what its clients reported.
 */
const iso = (value: Date | string | null): string | null =>
  value === null ? null : new Date(value).toISOString();

export async function clientRecord(
  db: SiteDb,
  clientId: string,
): Promise<OutboundRecord<'client'> | undefined> {
  const row = await db.selectFrom('clients').selectAll().where('id', '=', clientId).executeTakeFirst();
  if (row === undefined) return undefined;
  return record('client', {
    siteCode: row.site_code,
    clientId: row.id,
    publicKey: row.public_key,
    hostname: row.hostname,
    state: row.state,
    mode: row.mode,
    rootSource: row.root_source,
    registeredAt: new Date(row.registered_at).toISOString(),
    approvedAt: iso(row.approved_at),
    revokedAt: iso(row.revoked_at),
  });
}

export async function discoveryRecord(
  db: SiteDb,
  clientId: string,
): Promise<OutboundRecord<'discovery'> | undefined> {
  const row = await db
    .selectFrom('discovery')
    .selectAll()
    .where('client_id', '=', clientId)
    .executeTakeFirst();
  if (row === undefined) return undefined;
  return record('discovery', {
    clientId,
    hostname: row.hostname,
    domain: row.domain,
    addresses: row.addresses,
    agentVersion: row.agent_version,
    updatedAt: new Date(row.updated_at).toISOString(),
  });
}

/** The client's whole current inventory: a parent never depends on having seen every delta. */
export async function inventoryRecord(
  db: SiteDb,
  clientId: string,
  now: Date,
): Promise<OutboundRecord<'inventory'> | undefined> {
  const facts = await db
    .selectFrom('inventory_facts')
    .select(['name', 'value'])
    .where('client_id', '=', clientId)
    .execute();
  if (facts.length === 0) return undefined;
  const software = await db
    .selectFrom('inventory_software')
    .select(['name', 'version', 'arch', 'source'])
    .where('client_id', '=', clientId)
    .limit(20_000)
    .execute();
  return record('inventory', {
    clientId,
    facts: Object.fromEntries(facts.map((f) => [f.name, f.value])),
    software,
    updatedAt: now.toISOString(),
  });
}

/** Status filter rules: which messages go up. */
export function forwards(rule: StatusForwarding, severity: string, deploymentId: string | null): boolean {
  switch (rule) {
    case 'all':
      return true;
    case 'none':
      return false;
    case 'errors':
      return severity !== 'info';
    case 'deployments-and-errors':
      return deploymentId !== null || severity !== 'info';
  }
}

export async function statusRecord(
  db: SiteDb,
  messageId: string,
  rule: StatusForwarding,
): Promise<OutboundRecord<'status'> | undefined> {
  const row = await db
    .selectFrom('status_messages')
    .selectAll()
    .where('message_id', '=', messageId)
    .executeTakeFirst();
  if (row === undefined || !forwards(rule, row.severity, row.deployment_id)) return undefined;
  return record('status', {
    siteCode: row.site_code,
    messageId: row.message_id,
    clientId: row.client_id,
    machine: row.machine,
    deploymentId: row.deployment_id,
    statusId: row.status_id,
    severity: statusById(row.status_id)?.severity ?? row.severity,
    component: row.component,
    occurredAt: new Date(row.occurred_at).toISOString(),
    insertionStrings: row.insertion_strings,
  });
}

/** This site's summary of a deployment created above it (its own deployments stay here). */
export async function deploymentSummaryRecord(
  db: SiteDb,
  deploymentId: string,
  localCode: string,
): Promise<OutboundRecord<'deployment-summary'> | undefined> {
  const replicated = await db
    .selectFrom('replicated_objects')
    .select('origin_site')
    .where('object_class', '=', 'deployment')
    .where('object_id', '=', deploymentId)
    .executeTakeFirst();
  if (replicated === undefined) return undefined;
  const row = await db
    .selectFrom('deployment_summaries')
    .selectAll()
    .where('deployment_id', '=', deploymentId)
    .executeTakeFirst();
  if (row === undefined) return undefined;
  return record('deployment-summary', {
    deploymentId,
    siteCode: localCode,
    summary: {
      targeted: row.targeted,
      received: row.received,
      downloading: row.downloading,
      running: row.running,
      succeeded: row.succeeded,
      failed: row.failed,
      timedOut: row.timed_out,
    },
    updatedAt: new Date(row.updated_at).toISOString(),
  });
}
