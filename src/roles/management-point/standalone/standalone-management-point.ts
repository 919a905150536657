import { clientCertificateAnswerSchema, siteSystemPaths, type TrustBundle } from '../../../protocol/index.js';
import {
  readKeyFile,
  tlsOptionsFor,
  trustRootFromPin,
  verifyMpCertificate,
  type SigningKey,
} from '../../../trust/index.js';
import { lockFolder } from '../../../platform/lock-file.js';
import { openSiteDatabase, type SiteDatabaseHandle } from '../../../site/database/open.js';
import { rootChain, siteCertificates } from '../../../site/hierarchy/trust-store.js';
import { readManagementPointSettings } from '../../../site/site-systems/management-point-settings.js';
import { certifiedManagementPoints } from '../../../site/site-systems/management-points.js';
import { SiteConnection } from '../../../site/site-systems/site-connection.js';
import {
  readSiteSystemConfig,
  readSiteSystemTrust,
  siteSystemKeySecret,
  siteSystemLayout,
} from '../../../site/site-systems/site-system-folder.js';
import { recordSiteSystemHealth } from '../../../site/site-systems/site-system-status.js';
import { SiteSystemFolderError } from '../../../site/site-systems/site-system-errors.js';
import {
  createStandaloneListener,
  standaloneUrl,
  type StandaloneListenerSettings,
} from '../../../site/site-systems/standalone-listener.js';
import { revokedSerials, revokedSerialsOf } from '../../../site/tls/tls-store.js';
import { refuseRevokedClients } from '../../../trust/tls/index.js';
import { ManagementPoint } from '../management-point.js';
import { PolicyFeedReader } from './policy-feed-reader.js';
import { ReplicaAssignments } from './replica-assignments.js';

export interface StandaloneManagementPointOptions {
  dataDir: string;
  /** The primary site database: registrations and reports are written there. */
  database: string;
  /** A streaming replica: client state, lists and policy are read there first (docs/scale-out.md). */
  replica?: string;
  listen?: string;
  settings: StandaloneListenerSettings & { feedInterval: number };
}

export interface RunningManagementPoint {
  readonly url: string;
  readonly name: string;
  readonly managementPoint: ManagementPoint;
  stop(): Promise<void>;
}

/** How often the site's certified MPs, root chain and revocations are read again. */
const refreshMs = 30_000;

/**
 * `steward mp start` (docs/scale-out.md): a management point on its own host with its own identity,
 * the MP key and root-certified mp-certificate it was given at install (`steward mp install`); it
 * never holds a key of the site. It checks its own certificate against the pinned root before it
 * serves (C2, as its agents will), reads the replica and writes the primary (ReplicaAssignments),
 * follows the site's policy change feed, and keeps answering the signed lists it holds while the
 * site server or the databases are away: writes then get 503 ERR_DATABASE (retryable) and agents
 * keep their reports queued.
 */
export async function startStandaloneManagementPoint(
  options: StandaloneManagementPointOptions,
): Promise<RunningManagementPoint> {
  const layout = siteSystemLayout(options.dataDir);
  const config = await readSiteSystemConfig(layout, 'management-point');
  const trust = await readSiteSystemTrust(layout);
  const lock = await lockFolder(options.dataDir, 'steward mp start');
  const handles: SiteDatabaseHandle[] = [];
  try {
    const secret = siteSystemKeySecret(layout, config);
    const mpKey: SigningKey = await readKeyFile(layout.systemKey, secret);
    const now = new Date();
    if (trust.mpCertificate === null)
      throw new SiteSystemFolderError(`${layout.trust} holds no MP certificate; install again`);
    // C1 (the pin taken at install) and C2: this MP's certificate, for this site and this key.
    const root = trustRootFromPin(trust.rootChain, config.rootKeyId, now);
    const own = verifyMpCertificate(trust.mpCertificate, root, now, config.siteCode);
    if (own.key.keyId !== mpKey.keyId) {
      throw new SiteSystemFolderError(
        `the MP certificate in ${layout.trust} is not for the key in ${layout.systemKey}`,
      );
    }
    const primary = await openSiteDatabase({ kind: 'postgres', url: options.database }, { migrate: false });
    handles.push(primary);
    const replica =
      options.replica === undefined
        ? undefined
        : await openSiteDatabase({ kind: 'postgres', url: options.replica }, { migrate: false });
    if (replica !== undefined) handles.push(replica);
    const readDb = (replica ?? primary).db;

    const listener = await createStandaloneListener({
      config,
      layout,
      secret,
      listen: options.listen,
      settings: options.settings,
    });
    const log = listener.app.log;
    const tlsFields =
      trust.tlsCaCertificate === null || trust.tlsCaEndorsement === null
        ? {}
        : { tlsCaCertificate: trust.tlsCaCertificate, tlsCaEndorsement: trust.tlsCaEndorsement };
    let bundle: TrustBundle = {
      siteCode: config.siteCode,
      rootChain: trust.rootChain,
      siteCertificates: trust.siteCertificates,
      mpCertificate: trust.mpCertificate,
      ...tlsFields,
    };
    let certifiedKeyIds: ReadonlySet<string> = new Set([mpKey.keyId]);
    const revoked = new Set<string>();
    const site = new SiteConnection(
      config.siteUrl,
      trust.tlsCaCertificate === null ? undefined : tlsOptionsFor({ caPem: trust.tlsCaCertificate }),
      { siteCode: config.siteCode, role: 'management-point', name: config.name, key: mpKey },
    );
    const settings = await readManagementPointSettings(primary.db).catch(() => ({
      approval: 'token' as const,
    }));
    const managementPoint = new ManagementPoint({
      db: primary.db,
      readDb,
      siteCode: config.siteCode,
      mpName: config.name,
      mpKey,
      trustBundle: bundle,
      approveAutomatically: settings.approval === 'automatic',
      onReportsStored: () => undefined,
      assignments: new ReplicaAssignments(
        primary.db,
        replica?.db,
        { siteCode: config.siteCode, mpName: config.name, mpKey },
        () => certifiedKeyIds,
      ),
      ...(listener.scheme === 'https'
        ? {
            clientSecurity: {
              isRevoked: (serial: string) => revoked.has(serial),
              certify: () => Promise.reject(new Error('client certificates are issued by the site server')),
            },
            // This MP holds no CA key: the request goes to the site server, signed with the MP key.
            relayClientCertificate: async (clientId: string, encodedRequest: string) =>
              clientCertificateAnswerSchema.parse(
                JSON.parse(
                  await site.post(siteSystemPaths.clientCertificate(clientId), { request: encodedRequest }),
                ),
              ),
          }
        : {}),
    });

    // The site's certified MPs (agents learn where else to poll), its root chain and revocations.
    const refresh = async () => {
      const at = new Date();
      const mps = await certifiedManagementPoints(readDb, config.siteCode, at);
      certifiedKeyIds = new Set([mpKey.keyId, ...mps.map((mp) => mp.key.keyId)]);
      const others = mps.filter((mp) => mp.key.keyId !== mpKey.keyId).map((mp) => mp.envelope);
      // After a root rotation the site certifies this MP's key again (docs/operations.md): the newest
      // certificate of its own key that verifies against the site's root replaces the one from install.
      const own =
        mps.find((mp) => mp.name === config.name && mp.key.keyId === mpKey.keyId)?.envelope ??
        bundle.mpCertificate;
      const next: TrustBundle = {
        ...bundle,
        rootChain: await rootChain(readDb),
        siteCertificates: await siteCertificates(readDb),
        mpCertificate: own,
        managementPoints: [own, ...others].filter((e) => e !== '').slice(0, 16),
      };
      if (JSON.stringify(next) !== JSON.stringify(bundle)) {
        bundle = next;
        managementPoint.setTrustBundle(bundle);
      }
      for (const serial of await revokedSerials(readDb, at)) revoked.add(serial);
      await recordSiteSystemHealth(primary.db, config.systemId, 'ok', `serving at ${url}`, at);
    };
    // A revocation is a policy change: the clients the feed names have their revoked certificates
    // read at once, so they are refused within a feed interval rather than at the next refresh.
    const readRevocations = async (clientIds: readonly string[] | 'all') => {
      const at = new Date();
      const serials =
        clientIds === 'all'
          ? await revokedSerials(readDb, at)
          : await revokedSerialsOf(readDb, clientIds, at);
      for (const serial of serials) revoked.add(serial);
    };
    const feed = new PolicyFeedReader(
      readDb,
      (clientIds) => {
        managementPoint.invalidate(clientIds, { propagate: false });
        if (listener.scheme === 'https') {
          readRevocations(clientIds).catch((error: unknown) =>
            log.debug({ err: error }, 'reading revoked certificates failed'),
          );
        }
      },
      {
        intervalMs: options.settings.feedInterval * 1000,
        onError: (error) => log.debug({ err: error }, 'reading the policy change feed failed'),
      },
    );
    if (listener.scheme === 'https') {
      // As at the site server: a revoked certificate's connection is closed after its handshake.
      refuseRevokedClients(
        listener.app.server as unknown as Parameters<typeof refuseRevokedClients>[0],
        (serial) => revoked.has(serial),
        (error) => log.warn({ code: error.code }, `TLS connection refused: ${error.message}`),
      );
    }
    managementPoint.register(listener.app);
    listener.app.get('/health', () => ({
      status: 'ok',
      site: config.siteCode,
      managementPoint: config.name,
    }));
    const url = standaloneUrl(listener);
    await listener.app.listen({ host: listener.address.host, port: listener.address.port });
    if (listener.insecure) log.warn('plain HTTP on an address other machines can reach (--insecure-http)');
    await refresh().catch((error: unknown) =>
      log.warn({ err: error }, 'the site database is not reachable yet'),
    );
    feed.start();
    const timer = setInterval(() => {
      refresh().catch((error: unknown) => log.debug({ err: error }, 'refreshing site systems failed'));
    }, refreshMs);
    timer.unref();
    let stopping: Promise<void> | undefined;
    return {
      url,
      name: config.name,
      managementPoint,
      stop: () => {
        stopping ??= (async () => {
          clearInterval(timer);
          await feed.stop();
          await listener.app.close();
          for (const handle of handles) await handle.close();
          await lock.release();
        })();
        return stopping;
      },
    };
  } catch (error) {
    for (const handle of handles) await handle.close().catch(() => undefined);
    await lock.release();
    throw error;
  }
}
