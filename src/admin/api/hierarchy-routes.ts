import { z } from 'zod';
import { appendAudit } from '../audit-log/index.js';
import { inTransaction } from '../../site/database/site-db.js';
import { createJoinToken, listJoinTokens } from '../../site/hierarchy/join/join-token.js';
import { getLink } from '../../site/hierarchy/links/link-store.js';
import { deploymentSummariesBySite, hierarchyOverview } from '../../site/hierarchy/overview.js';
import {
  linkSettingsSchema,
  setLinkSettings,
  setStatusForwarding,
  statusForwardingSchema,
} from '../../site/hierarchy/settings.js';
import { JoinRefusedError, UnknownSiteError } from '../../site/hierarchy/hierarchy-errors.js';
import type { HierarchyAdmin } from '../../site/hierarchy/hierarchy-admin.js';
import { adminRoute } from './route-table.js';

/** The hierarchy's admin endpoints (docs/hierarchy.md). */
export const hierarchyRoutes = [
  adminRoute({
    method: 'GET',
    path: '/hierarchy',
    summary: 'The hierarchy as this site sees it: links with backlog, last contact and errors; known sites',
    tag: 'hierarchy',
    right: { objectClass: 'site', right: 'read' },
    handler: async ({ context }) => ({
      siteCode: context.siteCode,
      siteType: context.siteType,
      ...(await hierarchyOverview(context.db)),
    }),
  }),
  adminRoute({
    method: 'POST',
    path: '/hierarchy/join-tokens',
    summary: 'Issue a one-time, expiring join token for a child site (secure key exchange)',
    tag: 'hierarchy',
    body: z.strictObject({
      siteType: z.enum(['primary', 'secondary']).default('primary'),
      validHours: z
        .number()
        .int()
        .min(1)
        .max(24 * 30)
        .default(24),
      description: z.string().max(500).default(''),
    }),
    right: { objectClass: 'site', right: 'administer' },
    successStatus: 201,
    handler: async ({ context, body, principal }) => {
      if (context.siteType === 'secondary')
        throw new JoinRefusedError('a secondary site takes no child sites');
      const now = context.now();
      return inTransaction(context.db, async (trx) => {
        const issued = await createJoinToken(trx, {
          parentUrl: context.url,
          parentCode: context.siteCode,
          parentSiteKeyId: context.siteKey.keyId,
          siteType: body.siteType,
          validHours: body.validHours,
          description: body.description,
          createdBy: principal.name,
          now,
        });
        await appendAudit(
          trx,
          {
            actor: principal.name,
            action: 'hierarchy.join-token.create',
            objectClass: 'site',
            objectId: issued.id,
            details: { siteType: body.siteType, expiresAt: issued.expiresAt.toISOString() },
          },
          now,
        );
        return {
          id: issued.id,
          token: issued.token,
          siteType: issued.siteType,
          expiresAt: issued.expiresAt.toISOString(),
          parentUrl: context.url,
          parentCode: context.siteCode,
          parentSiteKeyFingerprint: context.siteKey.fingerprint,
        };
      });
    },
  }),
  adminRoute({
    method: 'GET',
    path: '/hierarchy/join-tokens',
    summary: 'Join tokens issued here (never the tokens themselves): type, expiry, which site used each',
    tag: 'hierarchy',
    right: { objectClass: 'site', right: 'administer' },
    handler: async ({ context }) => ({ items: await listJoinTokens(context.db) }),
  }),
  adminRoute({
    method: 'PUT',
    path: '/hierarchy/links/:code',
    summary: "Set a link's schedule (open hours, UTC) and rate limit",
    tag: 'hierarchy',
    params: z.object({ code: z.string().regex(/^[A-Z0-9]{3}$/) }),
    body: linkSettingsSchema,
    right: { objectClass: 'site', right: 'administer' },
    handler: async ({ context, params, body, principal }) => {
      if ((await getLink(context.db, params.code)) === undefined) {
        throw new UnknownSiteError(`site ${params.code} has no link with this site`);
      }
      const now = context.now();
      await inTransaction(context.db, async (trx) => {
        await setLinkSettings(trx, params.code, body, now);
        await appendAudit(
          trx,
          {
            actor: principal.name,
            action: 'hierarchy.link.change',
            objectClass: 'site',
            objectId: params.code,
            details: body,
          },
          now,
        );
      });
      return { siteCode: params.code, settings: body };
    },
  }),
  adminRoute({
    method: 'PUT',
    path: '/hierarchy/status-forwarding',
    summary: 'Which status messages go up to the parent (status filter rule)',
    tag: 'hierarchy',
    body: z.strictObject({ rule: statusForwardingSchema }),
    right: { objectClass: 'site', right: 'administer' },
    handler: async ({ context, body, principal }) => {
      const now = context.now();
      await inTransaction(context.db, async (trx) => {
        await setStatusForwarding(trx, body.rule, now);
        await appendAudit(
          trx,
          {
            actor: principal.name,
            action: 'hierarchy.status-forwarding.change',
            objectClass: 'site',
            objectId: context.siteCode,
            details: body,
          },
          now,
        );
      });
      return { rule: body.rule };
    },
  }),
  adminRoute({
    method: 'POST',
    path: '/hierarchy/key-requests',
    summary:
      "Manual key exchange: import a child's key request whose key fingerprint was confirmed out of band",
    tag: 'hierarchy',
    body: z.strictObject({
      file: z
        .string()
        .min(2)
        .max(2 * 1024 * 1024),
      fingerprint: z.string().min(32).max(80),
    }),
    right: { objectClass: 'site', right: 'administer' },
    handler: async ({ context, body, principal }) => {
      const hierarchy = requireHierarchy(context.hierarchy);
      const now = context.now();
      const answer = await hierarchy.importKeyRequest(body.file, body.fingerprint, now);
      await appendAudit(
        context.db,
        {
          actor: principal.name,
          action: 'hierarchy.key-request.import',
          objectClass: 'site',
          objectId: answer.joinId,
          details: { fingerprint: body.fingerprint, state: answer.state },
        },
        now,
      );
      return { joinId: answer.joinId, state: answer.state };
    },
  }),
  adminRoute({
    method: 'POST',
    path: '/hierarchy/key-answers',
    summary: 'Manual key exchange: write the answer file of a certified join, for the child',
    tag: 'hierarchy',
    body: z.strictObject({ joinId: z.string().regex(/^[0-9a-f]{32}$/) }),
    right: { objectClass: 'site', right: 'administer' },
    handler: async ({ context, body }) => ({
      file: await requireHierarchy(context.hierarchy).exportKeyAnswer(body.joinId, context.now()),
      parentSiteKeyFingerprint: context.siteKey.fingerprint,
    }),
  }),
  adminRoute({
    method: 'GET',
    path: '/hierarchy/deployments/:id',
    summary: 'Per-site summaries of a deployment, as the sites below reported them',
    tag: 'hierarchy',
    params: z.object({ id: z.string().min(1).max(64) }),
    right: { objectClass: 'deployment', right: 'read', instanceParam: 'id' },
    handler: async ({ context, params }) => ({
      items: await deploymentSummariesBySite(context.db, params.id),
    }),
  }),
];

function requireHierarchy(hierarchy: HierarchyAdmin | undefined): HierarchyAdmin {
  if (hierarchy === undefined) throw new JoinRefusedError('this site takes no child sites');
  return hierarchy;
}
