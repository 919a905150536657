import { z } from 'zod';
import { envelopePayloadBytes, parseEnvelope, parsePayload } from '../../trust/index.js';
import { appendAudit } from '../audit-log/index.js';
import { inTransaction } from '../../site/database/site-db.js';
import { rootChain } from '../../site/hierarchy/trust-store.js';
import { ConflictError } from '../../site/site-errors.js';
import {
  createSiteSystemToken,
  issueSharedCredential,
  listSiteSystemTokens,
} from '../../site/site-systems/system-tokens.js';
import { adminRoute } from './route-table.js';

/**
 * Site systems on their own hosts (docs/scale-out.md): one-time tokens that install a management
 * point or distribution point (`steward site system-token`); at a standard-mode site, the one
 * shared site-system credential instead (docs/audit.md, "Security modes").
 */
export const siteSystemRoutes = [
  adminRoute({
    method: 'POST',
    path: '/site-systems/tokens',
    summary:
      'Issue a one-time, expiring token that installs a management point or distribution point (standard mode: the shared site-system credential, issued once)',
    tag: 'site',
    body: z.strictObject({
      role: z.enum(['management-point', 'distribution-point']),
      validHours: z
        .number()
        .int()
        .min(1)
        .max(24 * 30)
        .default(24),
      description: z.string().max(500).default(''),
      /** Standard mode: revoke the shared credential and issue a new one. */
      replaceShared: z.boolean().default(false),
    }),
    right: { objectClass: 'site', right: 'administer' },
    successStatus: 201,
    handler: async ({ context, body, principal }) => {
      if (context.siteType === 'secondary')
        throw new ConflictError('a secondary site runs no site systems of its own on other hosts');
      const now = context.now();
      const anchor = (await rootChain(context.db))[0];
      if (anchor === undefined) throw new ConflictError('this site holds no root document');
      const rootKeyId = parsePayload('root', envelopePayloadBytes(parseEnvelope(anchor))).keys[0]?.keyId;
      if (rootKeyId === undefined) throw new ConflictError('the root document names no key');
      if (context.securityMode === 'standard') {
        return inTransaction(context.db, async (trx) => {
          const issued = await issueSharedCredential(trx, {
            siteUrl: context.url,
            siteCode: context.siteCode,
            rootKeyId,
            replace: body.replaceShared,
            createdBy: principal.name,
            now,
          });
          await appendAudit(
            trx,
            {
              actor: principal.name,
              action: 'site-system.shared-credential.create',
              objectClass: 'site',
              objectId: issued.id,
              details: { expiresAt: issued.expiresAt.toISOString(), replaced: issued.replaced },
            },
            now,
          );
          return {
            id: issued.id,
            token: issued.token,
            role: issued.role,
            shared: true,
            expiresAt: issued.expiresAt.toISOString(),
            siteCode: context.siteCode,
            siteUrl: context.url,
          };
        });
      }
      return inTransaction(context.db, async (trx) => {
        const issued = await createSiteSystemToken(trx, {
          siteUrl: context.url,
          siteCode: context.siteCode,
          rootKeyId,
          role: body.role,
          validHours: body.validHours,
          description: body.description,
          createdBy: principal.name,
          now,
        });
        await appendAudit(
          trx,
          {
            actor: principal.name,
            action: 'site-system.token.create',
            objectClass: 'site',
            objectId: issued.id,
            details: { role: body.role, expiresAt: issued.expiresAt.toISOString() },
          },
          now,
        );
        return {
          id: issued.id,
          token: issued.token,
          role: issued.role,
          shared: false,
          expiresAt: issued.expiresAt.toISOString(),
          siteCode: context.siteCode,
          siteUrl: context.url,
        };
      });
    },
  }),
  adminRoute({
    method: 'GET',
    path: '/site-systems/tokens',
    summary:
      'Site system tokens issued here (never the tokens themselves): role, expiry, which system used each',
    tag: 'site',
    right: { objectClass: 'site', right: 'administer' },
    handler: async ({ context }) => ({ items: await listSiteSystemTokens(context.db) }),
  }),
];
