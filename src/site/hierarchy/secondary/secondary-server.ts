import { rm } from 'node:fs/promises';
import Fastify, { type FastifyInstance } from 'fastify';
import { appendAudit } from '../../../admin/audit-log/index.js';
import { adminAuthenticationHook, FailedLoginLimiter } from '../../../admin/identity/index.js';
import type { AdminContext } from '../../../admin/api/admin-context.js';
import { JobRegistry } from '../../../admin/api/jobs.js';
import { registerAdminRoutes, type AnyAdminRoute } from '../../../admin/api/route-table.js';
import { hierarchyRoutes } from '../../../admin/api/hierarchy-routes.js';
import { siteRoutes } from '../../../admin/api/site-routes.js';
import { writeFileAtomic } from '../../../platform/atomic-file.js';
import { lockFolder } from '../../../platform/lock-file.js';
import { protocolLimits } from '../../../protocol/index.js';
import { distributionPointRoutes } from '../../../roles/distribution-point/index.js';
import { ProxyManagementPoint } from '../../../roles/proxy-management-point/proxy-management-point.js';
import { readKeyFile } from '../../../trust/index.js';
import { removeImportLeftovers } from '../../content-library/index.js';
import { siteDataLayout } from '../../data-folder/layout.js';
import { readSiteConfig, type SiteConfig } from '../../data-folder/site-config.js';
import { keySecretFor } from '../../data-folder/site-keys.js';
import { databaseLocation, openSiteDatabase } from '../../database/open.js';
import { toJson } from '../../database/site-db.js';
import { frameworkErrors, installErrorHandler } from '../../http/error-handler.js';
import { listenUrl, parseListen } from '../../http/listen-address.js';
import { prepareJoinedSiteTransport } from '../../server/joined-site-transport.js';
import { defaultTransportSettings, planTransport, type TransportSettings } from '../../server/transport.js';
import { DataFolderError } from '../../site-errors.js';
import { stewardVersion } from '../../version.js';
import { defaultHierarchyConfig } from '../hierarchy-config.js';
import { securityModeOf } from '../../security-mode/security-mode.js';
import { HierarchyService } from '../hierarchy-service.js';
import { openSiteCertificateRenewal } from '../tls/site-certificate-renewal.js';
import { senderTimings } from '../site-hierarchy.js';
import { resolveHierarchySettings } from '../hierarchy-settings.js';
import { parentLink } from '../links/link-store.js';

export interface SecondarySiteOptions {
  dataDir: string;
  listen?: string;
  logLevel?: string;
  /** How long the proxy MP serves a cached trust bundle or assignment list before asking the parent. */
  proxyRevalidateMs?: number;
  /** --tls and --insecure-http, as for `site start` of a primary (docs/tls.md). */
  transport?: Pick<TransportSettings, 'tls' | 'insecureHttp'>;
}

export interface RunningSecondarySite {
  readonly url: string;
  readonly config: SiteConfig;
  readonly app: FastifyInstance;
  readonly hierarchy: HierarchyService;
  stop(): Promise<void>;
}

/**
 * `steward site start` for a secondary site (DESIGN.md section 1): no authoritative database, only a
 * small local store in the data folder for the link's outbox, the content transfers and the proxy's
 * caches. It runs a proxy management point for the parent's clients near it, a distribution point
 * fed from the parent's (content verified before it is served), and the site link to its parent.
 */
export async function startSecondarySite(options: SecondarySiteOptions): Promise<RunningSecondarySite> {
  const layout = siteDataLayout(options.dataDir);
  const config = await readSiteConfig(layout.config);
  if (config.siteType !== 'secondary')
    throw new DataFolderError(`${options.dataDir} is not a secondary site`);
  const lock = await lockFolder(options.dataDir, 'steward site start');
  const database = await openSiteDatabase(
    databaseLocation(config.database ?? undefined, layout.database),
  ).catch(async (error: unknown) => {
    await lock.release();
    throw error;
  });
  const db = database.db;
  let app: FastifyInstance | undefined;
  try {
    const siteKey = await readKeyFile(layout.siteKey, keySecretFor(config, layout));
    await removeImportLeftovers(layout.content).catch(() => undefined);
    const parent = await parentLink(db);
    if (parent === undefined)
      throw new DataFolderError('this secondary site has no parent link; join it again');
    const listen = parseListen(options.listen ?? config.listen);
    // HTTPS with its site server certificate (from its join) unless the listener is loopback only;
    // plain HTTP elsewhere only with --insecure-http (docs/tls.md).
    const plan = planTransport(listen.host, options.transport ?? defaultTransportSettings);
    const transport =
      plan.scheme === 'https'
        ? await prepareJoinedSiteTransport({
            config,
            layout,
            db,
            listenHost: listen.host,
            now: new Date(),
            plan,
            organisation: undefined,
            adminAddress: undefined,
            adminUrl: null,
          })
        : undefined;
    const url = config.publicUrl ?? listenUrl(listen, plan.scheme);
    app = Fastify({
      ...(transport?.httpsOptions === undefined ? {} : { https: transport.httpsOptions }),
      logger: { level: options.logLevel ?? 'warn' },
      bodyLimit: protocolLimits.maxRequestBytes,
      connectionTimeout: 60_000,
      requestTimeout: 120_000,
      keepAliveTimeout: 65_000,
      routerOptions: { maxParamLength: 512 },
      return503OnClosing: true,
      frameworkErrors,
    });
    installErrorHandler(app);
    app.removeContentTypeParser('text/plain');
    const log = app.log;

    let contentServed = 0;
    app.addHook('onResponse', (request, reply, done) => {
      if (request.url.startsWith('/dp/v1/') && (reply.statusCode === 200 || reply.statusCode === 206)) {
        contentServed += 1;
      }
      done();
    });

    // Its site server certificate (from its join) is its client certificate toward an https parent;
    // over https the transport renews it and swaps it into the listener too.
    const credentials =
      transport === undefined
        ? await openSiteCertificateRenewal({
            config,
            layout,
            db,
            listenHost: listen.host,
            now: new Date(),
          }).catch(() => undefined)
        : undefined;
    const renewal = credentials?.renewal;
    const linkTls = () => (transport === undefined ? renewal?.linkTls() : transport.linkTls());
    renewal?.setLog(log);
    renewal?.start();
    const hierarchy = new HierarchyService({
      linkTls,
      db,
      code: config.code,
      name: config.name,
      siteType: 'secondary',
      url,
      siteKey,
      rootKeys: [],
      hierarchy: config.hierarchy ?? defaultHierarchyConfig,
      securityMode: securityModeOf(config),
      libraryDir: layout.content,
      contentUrl: () => Promise.resolve(url),
      events: {
        policyChanged: () => undefined,
        collectionChanged: () => Promise.resolve(),
        trustChanged: () => Promise.resolve(),
        reportsStored: () => undefined,
      },
      log: (level, message, error) => log[level]({ err: error }, message),
      ...senderTimings(),
      siteSystems: [
        { role: 'management-point', name: `${config.code}-PMP1`, urls: [url] },
        { role: 'distribution-point', name: `${config.code}-DP1`, urls: [url] },
      ],
    });
    const proxy = new ProxyManagementPoint({
      db,
      siteCode: config.code,
      parentCode: parent.site_code,
      parentUrl: parent.url,
      revalidateMs: options.proxyRevalidateMs ?? resolveHierarchySettings().proxyRevalidate,
      reportsQueued: () => hierarchy.sender.wake(),
      tls: linkTls,
      requireClientCertificates: transport !== undefined,
      log: (message, error) => log.warn({ err: error }, message),
    });
    proxy.register(app);
    await app.register(distributionPointRoutes, { libraryDir: layout.content });
    hierarchy.register(app);
    await registerSecondaryAdmin(app, db, config, url, siteKey, layout.content);
    app.get('/health', () => ({
      status: 'ok',
      site: config.code,
      type: 'secondary',
      contentRequestsServed: contentServed,
    }));
    await db
      .insertInto('site_systems')
      .values([
        systemRow(config.code, 'management-point', `${config.code}-PMP1`, url),
        systemRow(config.code, 'distribution-point', `${config.code}-DP1`, url),
      ])
      .onConflict((oc) =>
        oc.column('id').doUpdateSet((eb) => ({ urls: eb.ref('excluded.urls'), last_seen_at: new Date() })),
      )
      .execute();

    if (plan.insecure) {
      await appendAudit(
        db,
        {
          actor: 'site start',
          action: 'site.insecure-http',
          objectClass: 'site',
          objectId: config.code,
          details: { listen: listen.host },
        },
        new Date(),
      );
      log.warn(
        { listen: listen.host },
        'plain HTTP on an address other machines can reach (--insecure-http): credentials and inventory cross the network in clear',
      );
    }
    await app.listen({ host: listen.host, port: listen.port });
    await transport?.attach(app);
    const actualUrl = listen.port === 0 ? boundUrl(app, listen.host, plan.scheme) : url;
    hierarchy.start();
    await writeFileAtomic(
      layout.runtime,
      `${JSON.stringify({
        pid: process.pid,
        url: actualUrl,
        startedAt: new Date().toISOString(),
        transport: plan.insecure ? 'insecure-http' : plan.scheme,
      })}\n`,
    );
    let stopping: Promise<void> | undefined;
    const running: RunningSecondarySite = {
      url: actualUrl,
      config,
      app,
      hierarchy,
      stop: () => {
        const started = app;
        stopping ??= (async () => {
          await started?.close();
          await rm(layout.runtime, { force: true });
          await hierarchy.stop();
          renewal?.stop();
          await transport?.close();
          await database.close();
          await lock.release();
        })();
        return stopping;
      },
    };
    return running;
  } catch (error) {
    await app?.close().catch(() => undefined);
    await database.close().catch(() => undefined);
    await lock.release();
    throw error;
  }
}

function systemRow(code: string, role: 'management-point' | 'distribution-point', name: string, url: string) {
  return {
    id: `${code}-${role === 'management-point' ? 'pmp' : 'dp'}-embedded`,
    site_code: code,
    role,
    name,
    urls: toJson([url]),
    key_id: null,
    certificate: null,
    embedded: true,
    health: 'ok' as const,
    last_seen_at: new Date(),
  };
}

function boundUrl(app: FastifyInstance, host: string, scheme: 'http' | 'https'): string {
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return listenUrl({ host, port }, scheme);
}

/** The admin API of a secondary site: its status and its hierarchy view (it has nothing else). */
async function registerSecondaryAdmin(
  app: FastifyInstance,
  db: Awaited<ReturnType<typeof openSiteDatabase>>['db'],
  config: SiteConfig,
  url: string,
  siteKey: Awaited<ReturnType<typeof readKeyFile>>,
  libraryDir: string,
): Promise<void> {
  const routes: AnyAdminRoute[] = [
    ...siteRoutes.filter((route) => route.path === '/site'),
    ...hierarchyRoutes.filter((route) => route.method === 'GET' && route.path === '/hierarchy'),
  ];
  const context: AdminContext = {
    db,
    siteCode: config.code,
    siteName: config.name,
    siteType: config.siteType,
    url,
    version: stewardVersion,
    siteKey,
    contentLibraryDir: libraryDir,
    approval: config.approval,
    jobs: new JobRegistry(),
    now: () => new Date(),
    policyChanged: () => undefined,
    membershipChanged: () => Promise.resolve(),
    evaluateCollection: () => Promise.resolve(),
    contentUrls: () => Promise.resolve([url]),
  };
  await app.register((scope, _options, done) => {
    scope.addHook('onRequest', adminAuthenticationHook(db, { limiter: new FailedLoginLimiter() }));
    registerAdminRoutes(scope, context, routes);
    done();
  });
}
