import type { SiteDb } from '../../database/site-db.js';
import { inTransaction } from '../../database/site-db.js';
import type { HierarchyChangeTable } from '../hierarchy-schema.js';
import { childLinks, parentLink } from '../links/link-store.js';
import { enqueue } from '../links/outbox.js';
import type { OutboundRecord } from '../records.js';
import { statusForwarding } from '../settings.js';
import {
  certificateRecord,
  childTakes,
  collectionRecord,
  deploymentRecord,
  packageRecords,
  rootRecord,
} from './down-records.js';
import {
  clientRecord,
  deploymentSummaryRecord,
  discoveryRecord,
  inventoryRecord,
  statusRecord,
} from './up-records.js';

/**
 * Moves captured changes into the outboxes (migration 003: triggers record which objects changed).
 * Each change becomes the current state of its object as records; up changes go to the parent
 * link, down changes to every child link that takes them. The changes read are removed in the
 * same transaction, so a killed site server neither loses nor duplicates a change. Returns how many
 * changes were handled (0 when there were none).
 */
export async function forwardChanges(
  db: SiteDb,
  site: { localCode: string; contentUrl: string },
  now: Date,
  limit = 1000,
): Promise<number> {
  return inTransaction(db, async (trx) => {
    const changes = await trx
      .selectFrom('hierarchy_changes')
      .selectAll()
      .orderBy('seq')
      .limit(limit)
      .forUpdate()
      .execute();
    if (changes.length === 0) return 0;
    const parent = await parentLink(trx);
    const children = await childLinks(trx);
    const rule = await statusForwarding(trx);
    const up: OutboundRecord[] = [];
    const down: OutboundRecord[] = [];
    for (const change of changes) {
      if (change.direction === 'up') {
        if (parent === undefined) continue;
        const item = await upRecord(trx, change, site.localCode, rule, now);
        if (item !== undefined) up.push(item);
      } else {
        if (children.length === 0) continue;
        down.push(...(await downRecords(trx, change, site)));
      }
    }
    if (parent !== undefined) await enqueue(trx, parent.site_code, up, now);
    for (const child of children) {
      await enqueue(
        trx,
        child.site_code,
        down.filter((item) =>
          childTakes(child.site_type === 'central' ? 'primary' : child.site_type, item.type),
        ),
        now,
      );
    }
    await trx
      .deleteFrom('hierarchy_changes')
      .where(
        'seq',
        'in',
        changes.map((c) => c.seq),
      )
      .execute();
    return changes.length;
  });
}

async function upRecord(
  db: SiteDb,
  change: { kind: HierarchyChangeTable['kind']; key: string },
  localCode: string,
  rule: Awaited<ReturnType<typeof statusForwarding>>,
  now: Date,
): Promise<OutboundRecord | undefined> {
  switch (change.kind) {
    case 'client':
      return clientRecord(db, change.key);
    case 'discovery':
      return discoveryRecord(db, change.key);
    case 'inventory':
      return inventoryRecord(db, change.key, now);
    case 'status':
      return statusRecord(db, change.key, rule);
    case 'deployment-summary':
      return deploymentSummaryRecord(db, change.key, localCode);
    default:
      return undefined;
  }
}

async function downRecords(
  db: SiteDb,
  change: { kind: HierarchyChangeTable['kind']; key: string },
  site: { localCode: string; contentUrl: string },
): Promise<OutboundRecord[]> {
  const one = (item: OutboundRecord | undefined) => (item === undefined ? [] : [item]);
  switch (change.kind) {
    case 'root':
      return one(await rootRecord(db, Number(change.key)));
    case 'certificate':
      return one(await certificateRecord(db, change.key));
    case 'package':
      return packageRecords(db, change.key, site.localCode, site.contentUrl);
    case 'collection':
      return one(await collectionRecord(db, change.key, site.localCode));
    case 'deployment':
      return one(await deploymentRecord(db, change.key, site.localCode));
    default:
      return [];
  }
}
