import type { FastifyInstance } from 'fastify';
import type { SigningKey } from '../../trust/index.js';
import type { DatabaseLocation } from '../database/open.js';
import type { SiteDb } from '../database/site-db.js';
import type { SecurityMode } from '../security-mode/security-mode.js';
import type { SiteTransport } from '../server/transport.js';
import { publishManagementPointSettings } from './management-point-settings.js';
import { PolicyChangeWriter, prunePolicyChanges } from './policy-change-feed.js';
import { registerSiteSystemRoutes } from './site-system-routes.js';
import { markSilentSiteSystemsDown } from './site-system-status.js';
import { registerEmbeddedSiteSystems, removeEmbeddedSiteSystems } from './site-systems.js';

/** A site system that has not reported for this long is marked down. */
const silentAfterMs = 5 * 60_000;
/** Feed rows are kept this long: an MP away longer rebuilds every list (readPolicyChanges). */
const feedRetentionMs = 24 * 3600_000;

export interface SiteServerSystems {
  /** Records a policy change for management points on other hosts (a no-op on the embedded database). */
  policyChanged(clientIds: readonly string[] | 'all'): void;
  startBackgroundWork(): void;
  stop(): Promise<void>;
}

/**
 * The site server's side of site systems (docs/scale-out.md): its embedded MP, DP and SLP listed
 * as site systems or, with the embedded roles off, removed from that list; the install,
 * trust, content and status endpoints (site-system-routes.ts), the MP settings MPs read from the
 * database, and, on PostgreSQL, the policy change feed MPs on other hosts poll. The embedded
 * database cannot be reached from another host, so no feed is written there.
 */
export async function attachSiteSystems(input: {
  app: FastifyInstance;
  db: SiteDb;
  location: DatabaseLocation;
  siteCode: string;
  url: string;
  /** The embedded MP, DP and SLP, or undefined with the embedded roles off (no longer site systems). */
  embedded: { mpName: string; mpKeyId: string; mpCertificate: string } | undefined;
  approval: 'manual' | 'token' | 'automatic' | 'directory';
  /** Standard mode admits installs by the shared site-system credential too. */
  securityMode: SecurityMode;
  rootKeys: readonly SigningKey[];
  transport: SiteTransport;
  onInstalled(): void;
}): Promise<SiteServerSystems> {
  const { app, db, transport } = input;
  if (input.embedded === undefined) await removeEmbeddedSiteSystems(db, input.siteCode);
  else
    await registerEmbeddedSiteSystems(
      db,
      { siteCode: input.siteCode, url: input.url, ...input.embedded },
      new Date(),
    );
  await publishManagementPointSettings(db, { approval: input.approval }, new Date());
  const writer =
    input.location.kind === 'postgres'
      ? new PolicyChangeWriter(db, {
          onError: (error) => app.log.warn({ err: error }, 'recording a policy change failed; retrying'),
        })
      : undefined;
  await registerSiteSystemRoutes(app, {
    db,
    siteCode: input.siteCode,
    contentSourceUrl: input.url,
    certifying: {
      siteCode: input.siteCode,
      rootKeys: input.rootKeys,
      openCa: () => Promise.resolve(transport.issuing),
      tlsFields: () => Promise.resolve(transport.bundleFields),
      tlsValidityDays: 90,
      securityMode: input.securityMode,
    },
    clientSecurity: transport.clientSecurity,
    onInstalled: () => {
      input.onInstalled();
      writer?.record('all');
    },
  });
  let timer: NodeJS.Timeout | undefined;
  return {
    policyChanged: (clientIds) => writer?.record(clientIds),
    startBackgroundWork: () => {
      const housekeeping = () => {
        const now = Date.now();
        markSilentSiteSystemsDown(db, input.siteCode, new Date(now - silentAfterMs))
          .then(() =>
            writer === undefined ? undefined : prunePolicyChanges(db, new Date(now - feedRetentionMs)),
          )
          .catch((error: unknown) => app.log.warn({ err: error }, 'site system housekeeping failed'));
      };
      timer = setInterval(housekeeping, 60_000);
      timer.unref();
    },
    stop: async () => {
      clearInterval(timer);
      await writer?.stop();
    },
  };
}
