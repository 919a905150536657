import { z } from 'zod';
import { fingerprintOf, parseEnvelope, envelopePayloadBytes, parsePayload } from '../../trust/index.js';
import { listAudit, verifyAuditChain } from '../audit-log/index.js';
import { countClientsByState } from '../../site/clients/client-store.js';
import { createEnrolmentToken } from '../../site/clients/enrolment-tokens.js';
import { rootChain } from '../../site/hierarchy/trust-store.js';
import { hierarchyOverview } from '../../site/hierarchy/overview.js';
import { describeSiteSystems } from '../../site/site-systems/site-system-overview.js';
import { countedTokenRoute } from './counted-token-route.js';
import { adminRoute } from './route-table.js';

export const siteRoutes = [
  adminRoute({
    method: 'GET',
    path: '/site',
    summary: 'This site: code, type, clients by state, site systems, hierarchy links and sites',
    tag: 'site',
    right: { objectClass: 'site', right: 'read' },
    handler: async ({ context }) => ({
      code: context.siteCode,
      name: context.siteName,
      type: context.siteType,
      url: context.url,
      version: context.version,
      approval: context.approval,
      clients: await countClientsByState(context.db),
      siteSystems: await describeSiteSystems(context.db),
      // The hierarchy: links with backlog, last contact and errors; the sites known here (docs/hierarchy.md).
      hierarchy: await hierarchyOverview(context.db),
    }),
  }),
  adminRoute({
    method: 'GET',
    path: '/trust',
    summary: 'Root chain, site and MP certificates: key fingerprints and expiry (never private keys)',
    tag: 'site',
    right: { objectClass: 'site', right: 'read' },
    handler: async ({ context }) => {
      const chain = (await rootChain(context.db)).map((encoded) => {
        const payload = parsePayload('root', envelopePayloadBytes(parseEnvelope(encoded)));
        return {
          version: payload.version,
          threshold: payload.threshold,
          keys: payload.keys.map((k) => ({ keyId: k.keyId, fingerprint: fingerprintOf(k.keyId) })),
          issuedAt: payload.issuedAt,
          expiresAt: payload.expiresAt,
        };
      });
      const certificates = await context.db
        .selectFrom('certificates')
        .select(['kind', 'subject', 'site_code', 'key_id', 'serial', 'issued_at', 'expires_at', 'revoked_at'])
        .orderBy('kind')
        .orderBy('subject')
        .orderBy('serial')
        .execute();
      return {
        root: chain,
        certificates: certificates.map((c) => ({ ...c, keyFingerprint: fingerprintOf(c.key_id) })),
      };
    },
  }),
  countedTokenRoute({
    path: '/enrolment-tokens',
    summary: 'Create an enrolment token: clients that present it are approved at registration (S1)',
    tag: 'site',
    auditAction: 'enrolment-token.create',
    create: createEnrolmentToken,
  }),
  adminRoute({
    method: 'GET',
    path: '/audit',
    summary: 'Audit log entries in order',
    tag: 'audit',
    query: z.object({
      after: z.coerce.number().int().min(0).default(0),
      limit: z.coerce.number().int().min(1).max(1000).default(100),
    }),
    right: { objectClass: 'site', right: 'administer' },
    handler: async ({ context, query }) => ({
      items: await listAudit(context.db, { afterSeq: query.after, limit: query.limit }),
    }),
  }),
  adminRoute({
    method: 'GET',
    path: '/audit/verify',
    summary: 'Verify the audit log hash chain',
    tag: 'audit',
    right: { objectClass: 'site', right: 'administer' },
    handler: async ({ context }) => verifyAuditChain(context.db),
  }),
];
