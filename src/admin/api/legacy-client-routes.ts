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
import { countedTokenRoute } from './counted-token-route.js';
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
  countedTokenRoute({
    path: '/legacy-clients/tokens',
    summary: 'Create a legacy client token: a legacy client that registers with it is approved',
    tag: 'legacy-clients',
    auditAction: 'legacy-client-token.create',
    create: createLegacyToken,
  }),
];
