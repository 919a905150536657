import { z } from 'zod';
import { appendAudit } from '../audit-log/index.js';
import { inTransaction } from '../../site/database/site-db.js';
import {
  createLegacyToken,
  legacyClientAuditFacts,
  readLegacySettings,
  sitePublicKeyPem,
  writeLegacySettings,
} from '../../roles/legacy-point/index.js';
import { adminRoute } from './route-table.js';

/** Legacy clients (docs/legacy-client.md): the site setting, tokens, the key to pin, the counts. */
export const legacyClientRoutes = [
  adminRoute({
    method: 'GET',
    path: '/legacy-clients',
    summary:
      'Legacy clients: enabled or not, unverified clients allowed or not, counts, and the site key they pin',
    tag: 'legacy-clients',
    right: { objectClass: 'site', right: 'read' },
    handler: async ({ context }) => {
      const facts = await legacyClientAuditFacts(context.db);
      return {
        ...facts,
        siteKey: {
          keyId: context.siteKey.keyId,
          fingerprint: context.siteKey.fingerprint,
          pem: sitePublicKeyPem(context.siteKey.publicRecord()),
        },
      };
    },
  }),
  adminRoute({
    method: 'PUT',
    path: '/legacy-clients/settings',
    summary:
      'Enable or disable legacy clients, and whether clients that cannot check signatures get deployments',
    tag: 'legacy-clients',
    body: z.strictObject({ enabled: z.boolean().optional(), allowUnverified: z.boolean().optional() }),
    right: { objectClass: 'site', right: 'administer' },
    handler: async ({ context, body, principal }) => {
      const now = context.now();
      return inTransaction(context.db, async (trx) => {
        const before = await readLegacySettings(trx);
        const after = {
          enabled: body.enabled ?? before.enabled,
          allowUnverified: body.allowUnverified ?? before.allowUnverified,
        };
        await writeLegacySettings(trx, after, now);
        await appendAudit(
          trx,
          {
            actor: principal.name,
            action: 'legacy-clients.settings',
            objectClass: 'site',
            objectId: context.siteCode,
            details: { before, after },
          },
          now,
        );
        return after;
      });
    },
  }),
  adminRoute({
    method: 'POST',
    path: '/legacy-clients/tokens',
    summary: 'Create a legacy client token: a legacy client that registers with it is approved',
    tag: 'legacy-clients',
    body: z.strictObject({
      description: z.string().max(500).default(''),
      uses: z.number().int().min(1).max(1_000_000).default(1),
      validHours: z
        .number()
        .int()
        .min(1)
        .max(24 * 365)
        .default(24),
    }),
    right: { objectClass: 'client', right: 'create' },
    successStatus: 201,
    handler: async ({ context, body, principal }) => {
      const now = context.now();
      return inTransaction(context.db, async (trx) => {
        const token = await createLegacyToken(trx, {
          description: body.description,
          uses: body.uses,
          expiresAt: new Date(now.getTime() + body.validHours * 3600 * 1000),
          now,
        });
        await appendAudit(
          trx,
          {
            actor: principal.name,
            action: 'legacy-client-token.create',
            objectClass: 'client',
            objectId: token.id,
            details: { uses: body.uses, expiresAt: token.expiresAt.toISOString() },
          },
          now,
        );
        return token;
      });
    },
  }),
];
