import { z } from 'zod';
import { appendAudit } from '../audit-log/index.js';
import {
  addDirectMembers,
  collectionMembers,
  createCollection,
  listCollections,
  requireCollection,
} from '../../site/collections/collection-store.js';
import { compileRule, parseRule } from '../../site/collections/rule-language/index.js';
import { inTransaction } from '../../site/database/site-db.js';
import { refuseReplicated } from '../../site/hierarchy/read-only.js';
import { adminRoute } from './route-table.js';
import { nextCursor, pageQuery } from './paging.js';

const idParams = z.object({ id: z.string().min(1).max(64) });

export const collectionRoutes = [
  adminRoute({
    method: 'GET',
    path: '/collections',
    summary: 'List collections',
    tag: 'collections',
    right: { objectClass: 'collection', right: 'read' },
    handler: async ({ context }) => ({ items: await listCollections(context.db) }),
  }),
  adminRoute({
    method: 'POST',
    path: '/collections',
    summary: 'Create a collection by rule or by direct membership',
    tag: 'collections',
    body: z.strictObject({
      name: z.string().min(1).max(128),
      description: z.string().max(2000).default(''),
      rule: z.string().max(4096).nullable().default(null),
      clientIds: z
        .array(z.string().regex(/^[0-9a-f]{64}$/))
        .max(10_000)
        .default([]),
    }),
    right: { objectClass: 'collection', right: 'create' },
    successStatus: 201,
    handler: async ({ context, body, principal }) => {
      const now = context.now();
      const created = await inTransaction(context.db, async (trx) => {
        const collection = await createCollection(trx, body, now);
        await appendAudit(
          trx,
          {
            actor: principal.name,
            action: 'collection.create',
            objectClass: 'collection',
            objectId: collection.id,
            details: { name: body.name, rule: body.rule, directMembers: body.clientIds.length },
          },
          now,
        );
        return collection;
      });
      if (created.rule !== null) await context.evaluateCollection(created.id);
      else if (body.clientIds.length > 0)
        await context.membershipChanged([created.id], new Set(body.clientIds));
      return requireCollection(context.db, created.id);
    },
  }),
  adminRoute({
    method: 'POST',
    path: '/collections/preview',
    summary: 'Preview which clients a rule matches (count and the first 20)',
    tag: 'collections',
    body: z.strictObject({ rule: z.string().min(1).max(4096) }),
    right: { objectClass: 'collection', right: 'read' },
    handler: async ({ context, body }) => {
      const predicate = compileRule(parseRule(body.rule), { now: context.now() });
      const count = await context.db
        .selectFrom('clients')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where(predicate)
        .executeTakeFirstOrThrow();
      const sample = await context.db
        .selectFrom('clients')
        .select(['clients.id', 'clients.hostname', 'clients.state'])
        .where(predicate)
        .orderBy('clients.hostname')
        .limit(20)
        .execute();
      return { count: count.n, sample };
    },
  }),
  adminRoute({
    method: 'GET',
    path: '/collections/:id',
    summary: 'One collection',
    tag: 'collections',
    params: idParams,
    right: { objectClass: 'collection', right: 'read', instanceParam: 'id' },
    handler: async ({ context, params }) => requireCollection(context.db, params.id),
  }),
  adminRoute({
    method: 'GET',
    path: '/collections/:id/members',
    summary: 'Members of a collection',
    tag: 'collections',
    params: idParams,
    query: pageQuery,
    right: { objectClass: 'collection', right: 'read', instanceParam: 'id' },
    handler: async ({ context, params, query }) => {
      await requireCollection(context.db, params.id);
      const items = await collectionMembers(context.db, params.id, query);
      return { items, next: nextCursor(items, query.limit, (m) => m.clientId) };
    },
  }),
  adminRoute({
    method: 'POST',
    path: '/collections/:id/members',
    summary: 'Add clients to a collection directly',
    tag: 'collections',
    params: idParams,
    body: z.strictObject({
      clientIds: z
        .array(z.string().regex(/^[0-9a-f]{64}$/))
        .min(1)
        .max(10_000),
    }),
    right: { objectClass: 'collection', right: 'modify', instanceParam: 'id' },
    handler: async ({ context, params, body, principal }) => {
      await refuseReplicated(context.db, 'collection', params.id);
      const now = context.now();
      const added = await inTransaction(context.db, async (trx) => {
        await requireCollection(trx, params.id);
        const ids = await addDirectMembers(trx, params.id, body.clientIds);
        await appendAudit(
          trx,
          {
            actor: principal.name,
            action: 'collection.add-members',
            objectClass: 'collection',
            objectId: params.id,
            details: { clientIds: body.clientIds },
          },
          now,
        );
        return ids;
      });
      await context.membershipChanged([params.id], new Set(added));
      return requireCollection(context.db, params.id);
    },
  }),
];
