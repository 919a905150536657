import { z } from 'zod';
import { appendAudit } from '../audit-log/index.js';
import {
  createBoundary,
  deleteBoundary,
  listBoundaries,
  maxBoundaryDescriptionLength,
} from '../../site/boundaries/index.js';
import { inTransaction } from '../../site/database/site-db.js';
import { InvalidRequestError } from '../../site/site-errors.js';
import { adminRoute } from './route-table.js';

const siteCode = z.string().regex(/^[A-Z0-9]{3}$/, 'must be three upper-case letters or digits');

/**
 * Boundaries (DESIGN.md section 3): IP subnets and ranges that map clients to sites, read by the
 * server locator point. Listing needs site read; adding and removing need site modify.
 */
export const boundaryRoutes = [
  adminRoute({
    method: 'GET',
    path: '/boundaries',
    summary: 'List boundaries (IP subnets and ranges that map clients to sites)',
    tag: 'site',
    query: z.object({ siteCode: siteCode.optional() }),
    right: { objectClass: 'site', right: 'read' },
    handler: async ({ context, query }) => ({
      items: await listBoundaries(
        context.db,
        query.siteCode === undefined ? {} : { siteCode: query.siteCode },
      ),
    }),
  }),
  adminRoute({
    method: 'POST',
    path: '/boundaries',
    summary: 'Add a boundary: a subnet (192.0.2.0/24, 2001:db8::/32) or a range (192.0.2.10-192.0.2.20)',
    tag: 'site',
    body: z.strictObject({
      value: z.string().min(1).max(100),
      kind: z.enum(['subnet', 'range']).optional(),
      siteCode: siteCode.optional(),
      description: z.string().max(maxBoundaryDescriptionLength).default(''),
    }),
    right: { objectClass: 'site', right: 'modify' },
    successStatus: 201,
    handler: async ({ context, body, principal }) => {
      const now = context.now();
      const site = body.siteCode ?? context.siteCode;
      const created = await inTransaction(context.db, async (trx) => {
        if (site !== context.siteCode) {
          const known = await trx
            .selectFrom('sites')
            .select('code')
            .where('code', '=', site)
            .executeTakeFirst();
          if (known === undefined) throw new InvalidRequestError(`site ${site} is not known to this site`);
        }
        const boundary = await createBoundary(trx, {
          siteCode: site,
          value: body.value,
          ...(body.kind === undefined ? {} : { kind: body.kind }),
          description: body.description,
        });
        await appendAudit(
          trx,
          {
            actor: principal.name,
            action: 'boundary.create',
            objectClass: 'site',
            objectId: boundary.id,
            details: { siteCode: boundary.siteCode, kind: boundary.kind, value: boundary.value },
          },
          now,
        );
        return boundary;
      });
      context.boundariesChanged?.();
      return created;
    },
  }),
  adminRoute({
    method: 'DELETE',
    path: '/boundaries/:id',
    summary: 'Remove a boundary',
    tag: 'site',
    params: z.object({ id: z.string().min(1).max(64) }),
    right: { objectClass: 'site', right: 'modify' },
    handler: async ({ context, params, principal }) => {
      const now = context.now();
      const removed = await inTransaction(context.db, async (trx) => {
        const boundary = await deleteBoundary(trx, params.id);
        await appendAudit(
          trx,
          {
            actor: principal.name,
            action: 'boundary.delete',
            objectClass: 'site',
            objectId: boundary.id,
            details: { siteCode: boundary.siteCode, kind: boundary.kind, value: boundary.value },
          },
          now,
        );
        return boundary;
      });
      context.boundariesChanged?.();
      return { deleted: removed };
    },
  }),
];
