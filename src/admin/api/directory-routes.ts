import { z } from 'zod';
import { appendAudit } from '../audit-log/index.js';
import { inTransaction } from '../../site/database/site-db.js';
import {
  grantGroupRights,
  groupDnOf,
  listGroupRights,
  objectClassSchema,
  revokeGroupRights,
  rightSchema,
} from '../identity/index.js';
import { adminRoute } from './route-table.js';

const groupGrant = z.strictObject({
  groupDn: z.string().min(1).max(2000),
  objectClass: objectClassSchema,
  instanceId: z.string().min(1).max(256).default('*'),
  rights: z.array(rightSchema).min(1).max(16),
});

/**
 * Steward rights of directory groups (docs/directory.md, "Administrators from the directory"):
 * members of a group sign in with their directory password and hold its rights. Granting rights to
 * a group gives them to people the directory administrator chooses, so only a full administrator
 * (`administer` on every site) may list or change these grants.
 */
export const directoryRoutes = [
  adminRoute({
    method: 'GET',
    path: '/directory/group-rights',
    summary: 'List the rights granted to directory groups',
    tag: 'site',
    right: { objectClass: 'site', right: 'administer' },
    handler: async ({ context }) => ({ items: await listGroupRights(context.db) }),
  }),
  ...(['grant', 'revoke'] as const).map((action) =>
    adminRoute({
      method: 'POST',
      path: `/directory/group-rights/${action}`,
      summary:
        action === 'grant'
          ? 'Grant rights on a class (instance *) or one instance to a directory group'
          : 'Revoke rights of a directory group; a grant left empty is removed',
      tag: 'site',
      body: groupGrant,
      right: { objectClass: 'site', right: 'administer' },
      handler: async ({ context, body, principal }) => {
        const now = context.now();
        const groupDn = groupDnOf(body.groupDn);
        await inTransaction(context.db, async (trx) => {
          if (action === 'grant') {
            await grantGroupRights(trx, groupDn, body.objectClass, body.instanceId, body.rights);
          } else {
            await revokeGroupRights(trx, groupDn, body.objectClass, body.instanceId, body.rights);
          }
          await appendAudit(
            trx,
            {
              actor: principal.name,
              action: `directory-group.${action}`,
              objectClass: 'site',
              objectId: groupDn.slice(0, 256),
              details: {
                groupDn,
                objectClass: body.objectClass,
                instanceId: body.instanceId,
                rights: body.rights,
              },
            },
            now,
          );
        });
        return {
          items: (await listGroupRights(context.db)).filter((grant) => grant.groupDn === groupDn),
        };
      },
    }),
  ),
];
