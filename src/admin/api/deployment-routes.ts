import { z } from 'zod';
import { appendAudit } from '../audit-log/index.js';
import {
  createDeployment,
  deploymentClientStates,
  deploymentSummary,
  listDeployments,
  requireDeployment,
} from '../../site/deployments/deployment-store.js';
import { inTransaction } from '../../site/database/site-db.js';
import { changeDeployment } from '../../site/deployments/deployment-changes.js';
import { requireRight } from '../identity/index.js';
import { refuseReplicated } from '../../site/hierarchy/read-only.js';
import { adminRoute } from './route-table.js';
import { nextCursor, pageQuery } from './paging.js';

const idParams = z.object({ id: z.string().min(1).max(64) });

export const deploymentRoutes = [
  adminRoute({
    method: 'GET',
    path: '/deployments',
    summary: 'List deployments with their summaries',
    tag: 'deployments',
    right: { objectClass: 'deployment', right: 'read' },
    handler: async ({ context }) => {
      const items = await listDeployments(context.db);
      return {
        items: await Promise.all(
          items.map(async (d) => ({ ...d, summary: await deploymentSummary(context.db, d.id) })),
        ),
      };
    },
  }),
  adminRoute({
    method: 'POST',
    path: '/deployments',
    summary: 'Deploy a program of a package to a collection (signed into a policy body)',
    tag: 'deployments',
    body: z.strictObject({
      name: z.string().min(1).max(256).nullable().default(null),
      packageId: z.string().min(1).max(64),
      packageVersion: z.string().max(64).nullable().default(null),
      programName: z.string().min(1).max(128),
      collectionId: z.string().min(1).max(64),
      availableAt: z.iso.datetime().nullable().default(null),
      mandatoryAt: z.iso.datetime().nullable().default(null),
      expiresAt: z.iso.datetime().nullable().default(null),
      mandatory: z.boolean().default(false),
      rerun: z.enum(['never', 'always', 'if-failed', 'if-succeeded']).default('never'),
    }),
    right: { objectClass: 'deployment', right: 'create' },
    successStatus: 201,
    handler: async ({ context, body, principal }) => {
      // SMS's model: deploying needs the right on the package and on the collection as well.
      requireRight(principal, 'package', body.packageId, 'distribute');
      requireRight(principal, 'collection', body.collectionId, 'deploy');
      const now = context.now();
      const availableAt = body.availableAt === null ? now : new Date(body.availableAt);
      const mandatoryAt =
        body.mandatoryAt !== null ? new Date(body.mandatoryAt) : body.mandatory ? availableAt : null;
      const contentUrls = await context.contentUrls();
      const deployment = await inTransaction(context.db, async (trx) => {
        const created = await createDeployment(
          trx,
          {
            name: body.name,
            packageId: body.packageId,
            packageVersion: body.packageVersion,
            programName: body.programName,
            collectionId: body.collectionId,
            availableAt,
            mandatoryAt,
            expiresAt: body.expiresAt === null ? null : new Date(body.expiresAt),
            rerun: body.rerun,
          },
          { siteCode: context.siteCode, siteKey: context.siteKey, contentUrls },
          now,
        );
        await appendAudit(
          trx,
          {
            actor: principal.name,
            action: 'deployment.create',
            objectClass: 'deployment',
            objectId: created.id,
            details: {
              packageId: created.packageId,
              packageVersion: created.packageVersion,
              program: created.programName,
              collectionId: created.collectionId,
              mandatoryAt: created.mandatoryAt?.toISOString() ?? null,
              rerun: created.rerun,
            },
          },
          now,
        );
        return created;
      });
      const members = await context.db
        .selectFrom('collection_members')
        .select('client_id')
        .where('collection_id', '=', deployment.collectionId)
        .execute();
      context.policyChanged(members.map((m) => m.client_id));
      return { ...deployment, summary: await deploymentSummary(context.db, deployment.id) };
    },
  }),
  adminRoute({
    method: 'PUT',
    path: '/deployments/:id',
    summary: 'Change a deployment (enable, disable, schedule, rerun rule): signs a new policy body version',
    tag: 'deployments',
    params: idParams,
    body: z.strictObject({
      state: z.enum(['active', 'disabled']).optional(),
      mandatoryAt: z.iso.datetime().nullable().optional(),
      expiresAt: z.iso.datetime().nullable().optional(),
      rerun: z.enum(['never', 'always', 'if-failed', 'if-succeeded']).optional(),
    }),
    right: { objectClass: 'deployment', right: 'modify', instanceParam: 'id' },
    handler: async ({ context, params, body, principal }) => {
      await refuseReplicated(context.db, 'deployment', params.id);
      const now = context.now();
      const toDate = (value: string | null | undefined) =>
        value === undefined ? undefined : value === null ? null : new Date(value);
      // Read before the transaction: the embedded database has one connection, held by the transaction.
      const contentUrls = await context.contentUrls();
      const changed = await inTransaction(context.db, async (trx) => {
        const updated = await changeDeployment(
          trx,
          params.id,
          {
            ...(body.state === undefined ? {} : { state: body.state }),
            ...(body.mandatoryAt === undefined ? {} : { mandatoryAt: toDate(body.mandatoryAt) ?? null }),
            ...(body.expiresAt === undefined ? {} : { expiresAt: toDate(body.expiresAt) ?? null }),
            ...(body.rerun === undefined ? {} : { rerun: body.rerun }),
          },
          { siteCode: context.siteCode, siteKey: context.siteKey, contentUrls },
          now,
        );
        await appendAudit(
          trx,
          {
            actor: principal.name,
            action: 'deployment.change',
            objectClass: 'deployment',
            objectId: params.id,
            details: { ...body, policyVersion: updated.policyVersion },
          },
          now,
        );
        return updated;
      });
      const members = await context.db
        .selectFrom('collection_members')
        .select('client_id')
        .where('collection_id', '=', changed.collectionId)
        .execute();
      context.policyChanged(members.map((m) => m.client_id));
      return { ...changed, summary: await deploymentSummary(context.db, changed.id) };
    },
  }),
  adminRoute({
    method: 'GET',
    path: '/deployments/:id',
    summary: 'One deployment with its live summary',
    tag: 'deployments',
    params: idParams,
    right: { objectClass: 'deployment', right: 'read', instanceParam: 'id' },
    handler: async ({ context, params }) => ({
      ...(await requireDeployment(context.db, params.id)),
      summary: await deploymentSummary(context.db, params.id),
    }),
  }),
  adminRoute({
    method: 'GET',
    path: '/deployments/:id/clients',
    summary: 'Per-client state of a deployment',
    tag: 'deployments',
    params: idParams,
    query: pageQuery,
    right: { objectClass: 'deployment', right: 'read', instanceParam: 'id' },
    handler: async ({ context, params, query }) => {
      await requireDeployment(context.db, params.id);
      const items = await deploymentClientStates(context.db, params.id, query);
      return { items, next: nextCursor(items, query.limit, (s) => s.clientId) };
    },
  }),
];
