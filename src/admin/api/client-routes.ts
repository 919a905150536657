import { z } from 'zod';
import { appendAudit } from '../audit-log/index.js';
import { getClient, listClients, setClientState } from '../../site/clients/client-store.js';
import { collectionsOfClient } from '../../site/collections/collection-store.js';
import { deploymentsOfCollections, refreshTargeted } from '../../site/deployments/deployment-store.js';
import { inTransaction } from '../../site/database/site-db.js';
import { ConflictError, NotFoundError } from '../../site/site-errors.js';
import { adminRoute } from './route-table.js';
import { nextCursor, pageQuery } from './paging.js';

const clientParams = z.object({ id: z.string().regex(/^[0-9a-f]{64}$/, 'a client id is 64 hex digits') });

export const clientRoutes = [
  adminRoute({
    method: 'GET',
    path: '/clients',
    summary: 'List clients (search by host name or id, filter by state)',
    tag: 'clients',
    query: pageQuery.extend({
      search: z.string().max(200).optional(),
      state: z.enum(['pending', 'approved', 'revoked']).optional(),
    }),
    right: { objectClass: 'client', right: 'read' },
    handler: async ({ context, query }) => {
      const items = await listClients(context.db, query);
      return { items, next: nextCursor(items, query.limit, (c) => c.id) };
    },
  }),
  adminRoute({
    method: 'GET',
    path: '/clients/:id',
    summary: 'One client: registration, discovery, inventory and recent status messages',
    tag: 'clients',
    params: clientParams,
    right: { objectClass: 'client', right: 'read', instanceParam: 'id' },
    handler: async ({ context, params }) => {
      const client = await getClient(context.db, params.id);
      if (client === undefined) throw new NotFoundError(`client ${params.id} does not exist`);
      const db = context.db;
      const [discovery, facts, software, status, collections] = await Promise.all([
        db.selectFrom('discovery').selectAll().where('client_id', '=', params.id).executeTakeFirst(),
        db
          .selectFrom('inventory_facts')
          .select(['name', 'value'])
          .where('client_id', '=', params.id)
          .orderBy('name')
          .execute(),
        db
          .selectFrom('inventory_software')
          .select(['name', 'version', 'arch', 'source'])
          .where('client_id', '=', params.id)
          .orderBy('name')
          .limit(2000)
          .execute(),
        db
          .selectFrom('status_messages')
          .select([
            'message_id',
            'status_id',
            'severity',
            'deployment_id',
            'occurred_at',
            'insertion_strings',
          ])
          .where('client_id', '=', params.id)
          .orderBy('id', 'desc')
          .limit(50)
          .execute(),
        collectionsOfClient(db, params.id),
      ]);
      return {
        client,
        discovery: discovery ?? null,
        inventory: { facts: Object.fromEntries(facts.map((f) => [f.name, f.value])), software },
        statusMessages: status,
        collections,
      };
    },
  }),
  ...(['approve', 'revoke'] as const).map((action) =>
    adminRoute({
      method: 'POST',
      path: `/clients/:id/${action}`,
      summary:
        action === 'approve'
          ? 'Approve a pending client (S1)'
          : 'Revoke a client: no policy, reports refused (S1)',
      tag: 'clients',
      params: clientParams,
      right: { objectClass: 'client', right: 'modify', instanceParam: 'id' },
      handler: async ({ context, params, principal }) => {
        const now = context.now();
        const updated = await inTransaction(context.db, async (trx) => {
          const before = await getClient(trx, params.id);
          if (before === undefined) throw new NotFoundError(`client ${params.id} does not exist`);
          if (action === 'approve' && before.state === 'revoked') {
            throw new ConflictError(`client ${params.id} is revoked; a revocation is final (S1)`);
          }
          const after = await setClientState(
            trx,
            params.id,
            action === 'approve' ? 'approved' : 'revoked',
            principal.name,
            now,
          );
          await appendAudit(
            trx,
            {
              actor: principal.name,
              action: `client.${action}`,
              objectClass: 'client',
              objectId: params.id,
              details: { from: before.state, to: after?.state ?? null },
            },
            now,
          );
          for (const deploymentId of await deploymentsOfCollections(
            trx,
            await collectionsOfClient(trx, params.id),
          )) {
            await refreshTargeted(trx, deploymentId);
          }
          return after;
        });
        context.policyChanged([params.id]);
        // Its TLS client certificates are refused from the next connection and request on.
        if (action === 'revoke') await context.clientRevoked?.(params.id);
        return updated;
      },
    }),
  ),
];
