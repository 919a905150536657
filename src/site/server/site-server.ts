import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { registerAdminApi } from '../../admin/api/admin-api.js';
import { JobRegistry } from '../../admin/api/jobs.js';
import { ManagementPoint } from '../../roles/management-point/management-point.js';
import { ServerLocatorPoint } from '../../roles/server-locator-point/index.js';
import { distributionPointRoutes } from '../../roles/distribution-point/index.js';
import { removeImportLeftovers } from '../../site/content-library/index.js';
import { CollectionEvaluator } from '../collections/collection-evaluator.js';
import { evaluateCollection } from '../collections/collection-store.js';
import { databaseLocation, openSiteDatabase, type SiteDatabaseHandle } from '../database/open.js';
import { lockFolder, type DataFolderLock } from '../../platform/lock-file.js';
import { writeFileAtomic } from '../../platform/atomic-file.js';
import { siteDataLayout } from '../data-folder/layout.js';
import { readSiteConfig, type SiteConfig } from '../data-folder/site-config.js';
import { securityModeOf } from '../security-mode/security-mode.js';
import { loadSiteKeys } from '../data-folder/site-keys.js';
import { registerConsole } from '../http/console-routes.js';
import { registerLegacyPoint } from '../../roles/legacy-point/index.js';
import { siteDirectoryServices } from '../directory/site-directory.js';
import { clientErrorHandler, frameworkErrors, installErrorHandler } from '../http/error-handler.js';
import { listenUrl, parseListen } from '../http/listen-address.js';
import { InboxProcessor } from '../reports/inbox-processor.js';
import { pruneInbox } from '../reports/report-inbox.js';
import { distributionPointUrls } from '../site-systems/site-systems.js';
import { attachSiteSystems } from '../site-systems/site-server-systems.js';
import { currentCertificate } from '../hierarchy/trust-store.js';
import { protocolLimits } from '../../protocol/index.js';
import { renewMpCertificateIfDue } from './certificate-renewal.js';
import { renewExpiringPolicyBodies } from '../deployments/deployment-changes.js';
import { loadTrustBundle } from './trust-bundle.js';
import { createSiteHierarchy } from '../hierarchy/site-hierarchy.js';
import { stewardVersion } from '../version.js';
import type { SettingsOf } from '../../platform/settings.js';
import { siteServerSettings } from '../site-settings.js';
import {
  defaultTransportSettings,
  prepareTransport,
  type SiteTransport,
  type TransportSettings,
} from './transport.js';

export interface SiteServerOptions {
  dataDir: string;
  /** Overrides site.json's listen address (`steward site start --listen`). */
  listen?: string;
  settings?: Partial<SettingsOf<typeof siteServerSettings>>;
}

export interface RunningSite {
  readonly url: string;
  readonly config: SiteConfig;
  readonly app: FastifyInstance;
  readonly database: SiteDatabaseHandle;
  readonly managementPoint: ManagementPoint;
  readonly serverLocator: ServerLocatorPoint;
  readonly inbox: InboxProcessor;
  readonly collections: CollectionEvaluator;
  /** Starts processors and timers once the listener is up. */
  startBackgroundWork(): void;
  stop(): Promise<void>;
}

/**
 * `steward site start`: the site server with its embedded management point, distribution point,
 * server locator point and admin API on one listener (DESIGN.md section 1). It holds the data
 * folder's lock for its whole life, and stops cleanly: the listener closes, processors finish their
 * batch, the database closes.
 */
export async function startSiteServer(options: SiteServerOptions): Promise<RunningSite> {
  const layout = siteDataLayout(options.dataDir);
  const config = await readSiteConfig(layout.config);
  const lock = await lockFolder(options.dataDir, 'steward site start');
  let database: SiteDatabaseHandle | undefined;
  let app: FastifyInstance | undefined;
  try {
    const keys = await loadSiteKeys(config, layout);
    database = await openSiteDatabase(databaseLocation(config.database ?? undefined, layout.database), {
      requireTls: config.databaseRequireTls === true,
    });
    await removeImportLeftovers(layout.content).catch(() => undefined);
    const listen = parseListen(options.listen ?? config.listen);
    // Slow clients (a slowloris) are cut off with 408: headers within min(60 s, requestTimeout), the
    // whole request within requestTimeout, checked at least every quarter of it; a socket idle that
    // long is closed.
    const requestTimeout =
      (options.settings?.requestTimeout ?? siteServerSettings.requestTimeout.default) * 1000;
    const serverTimeouts = {
      requestTimeout,
      headersTimeout: Math.min(60_000, requestTimeout),
      connectionsCheckingInterval: Math.min(30_000, requestTimeout / 4),
    };
    // HTTPS with the hierarchy CA's certificate unless the listener is loopback only (docs/tls.md).
    const transport = await prepareTransport({
      config,
      layout,
      keys,
      db: database.db,
      listenHost: listen.host,
      settings: { ...defaultTransportSettings, ...pickTransportSettings(options.settings) },
      now: new Date(),
    });
    app = Fastify({
      ...(transport.httpsOptions === undefined
        ? {}
        : { https: { ...transport.httpsOptions, ...serverTimeouts } }),
      logger: { level: options.settings?.logLevel ?? siteServerSettings.logLevel.default },
      bodyLimit: protocolLimits.maxRequestBytes,
      connectionTimeout: Math.min(60_000, requestTimeout),
      requestTimeout,
      http: serverTimeouts,
      keepAliveTimeout: 65_000,
      routerOptions: { maxParamLength: 512 },
      return503OnClosing: true,
      frameworkErrors,
      clientErrorHandler,
    });
    installErrorHandler(app);
    // Every body the site reads is JSON: Fastify's built-in text/plain parser would let a text body
    // through to the handlers, so it is removed and such a body is refused with 415.
    app.removeContentTypeParser('text/plain');
    const port = listen.port === 0 ? await freePortOn(listen.host) : listen.port;
    const url = config.publicUrl ?? listenUrl({ host: listen.host, port }, transport.scheme);
    const running = await assemble({
      app,
      config,
      database,
      keys,
      lock,
      url,
      transport,
      layout,
      inboxBatchSize: options.settings?.inboxBatchSize ?? siteServerSettings.inboxBatchSize.default,
      embeddedRoles: (options.settings?.embeddedRoles ?? siteServerSettings.embeddedRoles.default) === 'on',
      evaluationMs:
        (options.settings?.collectionEvaluationInterval ??
          siteServerSettings.collectionEvaluationInterval.default) * 1000,
    });
    try {
      await app.listen({ host: listen.host, port });
      await transport.attach(app);
    } catch (error) {
      await running.stop();
      throw error;
    }
    running.startBackgroundWork();
    return running;
  } catch (error) {
    await app?.close().catch(() => undefined);
    await database?.close().catch(() => undefined);
    await lock.release();
    throw error;
  }
}

async function assemble(input: {
  app: FastifyInstance;
  config: SiteConfig;
  database: SiteDatabaseHandle;
  keys: Awaited<ReturnType<typeof loadSiteKeys>>;
  lock: DataFolderLock;
  url: string;
  transport: SiteTransport;
  layout: ReturnType<typeof siteDataLayout>;
  inboxBatchSize: number;
  evaluationMs: number;
  /** Off: no client traffic here; MPs and DPs run on their own hosts (docs/scale-out.md). */
  embeddedRoles: boolean;
}): Promise<RunningSite> {
  const { app, config, database, keys, lock, url, layout, transport } = input;
  const db = database.db;
  const now = new Date();
  const mpName = `${config.code}-MP1`;
  const renewal = await renewMpCertificateIfDue(
    db,
    { siteCode: config.code, mpName, mpKey: keys.mp, urls: [url], rootKeys: keys.root },
    now,
  );
  if (renewal === 'due-but-no-root-key') {
    app.log.warn('the management point certificate is due for renewal but no root key is available here');
  }
  const mpCertificate = await currentCertificate(db, 'mp-certificate', mpName);
  const siteSystems = await attachSiteSystems({
    app,
    db,
    location: database.location,
    siteCode: config.code,
    url,
    embedded: input.embeddedRoles
      ? { mpName, mpKeyId: keys.mp.keyId, mpCertificate: mpCertificate?.envelope ?? '' }
      : undefined,
    approval: config.approval,
    securityMode: securityModeOf(config),
    rootKeys: keys.root,
    transport,
    // The embedded MP's trust bundle names every certified MP of the site (agents fail over).
    onInstalled: () => {
      loadTrustBundle(db, config.code, mpName)
        .then((bundle) => managementPoint.setTrustBundle({ ...bundle, ...transport.bundleFields }))
        .catch((error: unknown) => app.log.warn({ err: error }, 'refreshing the trust bundle failed'));
    },
  });

  // docs/directory.md: publishing, directory approval (S1) and admin sign-in by directory bind.
  const directory = siteDirectoryServices(config, db, app.log);
  const managementPoint = new ManagementPoint({
    db,
    siteCode: config.code,
    mpName,
    mpKey: keys.mp,
    trustBundle: { ...(await loadTrustBundle(db, config.code, mpName)), ...transport.bundleFields },
    ...(transport.clientSecurity === undefined ? {} : { clientSecurity: transport.clientSecurity }),
    approveAutomatically: config.approval === 'automatic',
    ...(directory.vouch === undefined ? {} : { vouch: directory.vouch }),
    // Called only after start, when `inbox` below exists.
    onReportsStored: () => inbox.wake(),
    // MPs on other hosts learn of every invalidation made here through the policy change feed.
    policyChanged: (clientIds) => siteSystems.policyChanged(clientIds === 'all' ? 'all' : clientIds),
    // With the embedded roles off no agent polls here: nothing to warm.
    rebuildInBackground: input.embeddedRoles,
  });
  const collections = new CollectionEvaluator(
    db,
    { membershipChanged: (clientIds) => managementPoint.invalidate(clientIds) },
    {
      debounceMs: 500,
      fullEvaluationMs: input.evaluationMs,
      onError: (error) => app.log.error({ err: error }, 'collection evaluation failed'),
    },
  );
  const inbox = new InboxProcessor(
    database,
    config.code,
    { inventoryChanged: (clientIds) => collections.clientsChanged(clientIds) },
    {
      batchSize: input.inboxBatchSize,
      idleMs: 250,
      onError: (error) => app.log.error({ err: error }, 'report processing failed'),
    },
  );

  const serverLocator = new ServerLocatorPoint({
    db,
    siteCode: config.code,
    siteKey: keys.site,
    onError: (error) => app.log.error({ err: error }, 'server locator point refresh failed'),
  });

  const hierarchy = createSiteHierarchy({
    db,
    config,
    keys,
    url,
    libraryDir: layout.content,
    log: app.log,
    managementPoint,
    collections,
    inbox,
    serverLocator,
    trustBundle: async () => ({
      ...(await loadTrustBundle(db, config.code, mpName)),
      ...transport.bundleFields,
    }),
    transport: { linkTls: () => transport.linkTls(), siteCertificateIssuer: transport.siteCertificateIssuer },
  });
  if (input.embeddedRoles) {
    managementPoint.register(app);
    serverLocator.register(app);
  }
  // The content library is served either way: it is the source distribution points pull from.
  await app.register(distributionPointRoutes, { libraryDir: layout.content });
  await registerAdminApi(app, {
    db,
    siteCode: config.code,
    siteName: config.name,
    siteType: config.siteType,
    url,
    version: stewardVersion,
    siteKey: keys.site,
    contentLibraryDir: layout.content,
    approval: config.approval,
    securityMode: securityModeOf(config),
    jobs: new JobRegistry(),
    now: () => new Date(),
    policyChanged: (clientIds) => managementPoint.invalidate(clientIds),
    membershipChanged: (collectionIds, clientIds) =>
      collections.afterMembershipChange(collectionIds, clientIds),
    evaluateCollection: async (collectionId) => {
      const changed = await evaluateCollection(db, collectionId, new Date());
      await collections.afterMembershipChange([collectionId], changed);
    },
    contentUrls: () => distributionPointUrls(db, config.code),
    boundariesChanged: () => {
      serverLocator.invalidate();
      directory.publisher?.changed();
    },
    ...(directory.signIn === undefined ? {} : { directorySignIn: directory.signIn }),
    clientRevoked: (clientId) => transport.clientRevoked(clientId),
    hierarchy: hierarchy.admin,
    // docs/audit.md: what the security audit reads beyond the database.
    securityAudit: {
      config,
      dataDir: layout.dataDir,
      url,
      transport: { scheme: transport.scheme, insecure: transport.insecure },
    },
  });
  hierarchy.register(app);
  // Legacy clients (docs/legacy-client.md): off unless enabled; the list is signed with the site key.
  if (input.embeddedRoles) {
    await registerLegacyPoint(app, {
      db,
      siteCode: config.code,
      siteKey: keys.site,
      libraryDir: layout.content,
    });
  }
  await registerConsole(app, {
    db,
    siteCode: config.code,
    ...(directory.signIn === undefined ? {} : { directorySignIn: directory.signIn }),
  });
  app.get('/health', () => ({ status: 'ok', site: config.code }));

  let pruneTimer: NodeJS.Timeout | undefined;
  let stopping: Promise<void> | undefined;
  const inboxProcessor = inbox;
  return {
    startBackgroundWork: () => {
      inboxProcessor.start();
      collections.start();
      directory.publisher?.start();
      hierarchy.start();
      siteSystems.startBackgroundWork();
      const housekeeping = () => {
        pruneInbox(db, new Date(Date.now() - protocolLimits.reportValidityMs - 24 * 3600 * 1000)).catch(
          (error: unknown) => app.log.error({ err: error }, 'pruning the report inbox failed'),
        );
        distributionPointUrls(db, config.code)
          .then((contentUrls) =>
            renewExpiringPolicyBodies(
              db,
              { siteCode: config.code, siteKey: keys.site, contentUrls },
              new Date(),
            ),
          )
          .then((renewed) => {
            if (renewed > 0) managementPoint.invalidate('all');
          })
          .catch((error: unknown) => app.log.error({ err: error }, 'renewing policy bodies failed'));
      };
      housekeeping();
      pruneTimer = setInterval(housekeeping, 3600 * 1000);
      pruneTimer.unref();
      void writeFileAtomic(
        layout.runtime,
        `${JSON.stringify({
          pid: process.pid,
          url,
          startedAt: now.toISOString(),
          transport: transport.insecure ? 'insecure-http' : transport.scheme,
          ...(transport.adminUrl === null ? {} : { adminUrl: transport.adminUrl }),
        })}\n`,
      );
    },
    url,
    config,
    app,
    database,
    managementPoint,
    serverLocator,
    inbox: inboxProcessor,
    collections,
    stop: () => {
      stopping ??= (async () => {
        clearInterval(pruneTimer);
        await transport.close();
        await app.close();
        await rm(layout.runtime, { force: true });
        await inboxProcessor.stop();
        await collections.stop();
        await directory.publisher?.stop();
        await hierarchy.stop();
        await siteSystems.stop();
        await database.close();
        await lock.release();
      })();
      return stopping;
    },
  };
}

/** A free TCP port on the host, for `--listen HOST:0` (the URL must be known before listening). */
async function freePortOn(host: string): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolvePort(address.port);
        else reject(new Error('no free port'));
      });
    });
  });
}

/** The transport settings given to `site start` (the rest keep their defaults). */
function pickTransportSettings(
  settings: Partial<SettingsOf<typeof siteServerSettings>> | undefined,
): Partial<TransportSettings> {
  const picked: Partial<Record<keyof TransportSettings, unknown>> = {};
  for (const name of Object.keys(defaultTransportSettings) as (keyof TransportSettings)[]) {
    if (settings?.[name] !== undefined) picked[name] = settings[name];
  }
  return picked as Partial<TransportSettings>;
}
