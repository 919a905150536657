import type { FastifyBaseLogger } from 'fastify';
import type { Kysely } from 'kysely';
import type { TrustBundle } from '../../protocol/index.js';
import type { ManagementPoint } from '../../roles/management-point/management-point.js';
import type { CollectionEvaluator } from '../collections/collection-evaluator.js';
import { evaluateCollection } from '../collections/collection-store.js';
import type { SiteConfig } from '../data-folder/site-config.js';
import type { SiteKeys } from '../data-folder/site-keys.js';
import type { SiteDatabase } from '../database/schema.js';
import type { InboxProcessor } from '../reports/inbox-processor.js';
import { distributionPointUrls } from '../site-systems/site-systems.js';
import { defaultHierarchyConfig } from './hierarchy-config.js';
import { securityModeOf } from '../security-mode/security-mode.js';
import { HierarchyService } from './hierarchy-service.js';
import type { LinkTls } from './http-client.js';
import type { SiteCertificateIssuer } from '../tls/site-certificate-issuer.js';
import { resolveHierarchySettings } from './hierarchy-settings.js';

/**
 * Builds the hierarchy of a central or primary site server from the parts the server already has
 * (its management point, collection evaluator and inbox processor), so that the server's own file
 * only registers, starts and stops it.
 */
export function createSiteHierarchy(input: {
  db: Kysely<SiteDatabase>;
  config: SiteConfig;
  keys: SiteKeys;
  url: string;
  libraryDir: string;
  log: FastifyBaseLogger;
  managementPoint: ManagementPoint;
  collections: CollectionEvaluator;
  inbox: InboxProcessor;
  /** Reads boundaries and site systems again when those of sites below change. */
  serverLocator?: { invalidate(): void };
  trustBundle: () => Promise<TrustBundle>;
  /** Site links over mutual TLS, and the central site's issuer of site certificates (transport.ts). */
  transport?: { linkTls: LinkTls; siteCertificateIssuer: SiteCertificateIssuer | undefined };
}): HierarchyService {
  const { db, config } = input;
  return new HierarchyService({
    db,
    code: config.code,
    name: config.name,
    siteType: config.siteType,
    url: input.url,
    siteKey: input.keys.site,
    rootKeys: input.keys.root,
    hierarchy: config.hierarchy ?? defaultHierarchyConfig,
    securityMode: securityModeOf(config),
    libraryDir: input.libraryDir,
    contentUrl: async () => (await distributionPointUrls(db, config.code))[0] ?? input.url,
    events: {
      policyChanged: (clientIds) => input.managementPoint.invalidate(clientIds),
      collectionChanged: async (collectionId, directClients) => {
        const changed = await evaluateCollection(db, collectionId, new Date());
        await input.collections.afterMembershipChange(
          [collectionId],
          new Set([...changed, ...directClients]),
        );
      },
      trustChanged: async () => input.managementPoint.setTrustBundle(await input.trustBundle()),
      reportsStored: () => input.inbox.wake(),
      boundariesChanged: () => input.serverLocator?.invalidate(),
    },
    log: (level, message, error) => input.log[level]({ err: error }, message),
    ...senderTimings(),
    ...(input.transport === undefined
      ? {}
      : { linkTls: input.transport.linkTls, tlsIssuer: input.transport.siteCertificateIssuer }),
  });
}

/** The hierarchy's timings, from the environment (src/site/hierarchy/hierarchy-settings.ts). */
export function senderTimings(): {
  senderRetryMs: number;
  senderIdleMs: number;
  siteControlIntervalMs: number;
} {
  const settings = resolveHierarchySettings();
  return {
    senderRetryMs: settings.retryInterval,
    senderIdleMs: settings.idleInterval,
    siteControlIntervalMs: settings.siteControlInterval,
  };
}
