import { mkdir } from 'node:fs/promises';
import { siteSystemPaths, type SiteSystemStatus } from '../../../protocol/index.js';
import {
  readKeyFile,
  tlsOptionsFor,
  trustRootFromPin,
  verifySiteCertificate,
  type VerifyingKey,
} from '../../../trust/index.js';
import { lockFolder } from '../../../platform/lock-file.js';
import { removeImportLeftovers } from '../../../site/content-library/index.js';
import { SiteConnection } from '../../../site/site-systems/site-connection.js';
import {
  readSiteSystemConfig,
  readSiteSystemTrust,
  siteSystemKeySecret,
  siteSystemLayout,
} from '../../../site/site-systems/site-system-folder.js';
import {
  createStandaloneListener,
  standaloneUrl,
  type StandaloneListenerSettings,
} from '../../../site/site-systems/standalone-listener.js';
import { distributionPointRoutes } from '../routes.js';
import { syncContent } from './content-sync.js';

export interface StandaloneDistributionPointOptions {
  dataDir: string;
  listen?: string;
  settings: StandaloneListenerSettings & { syncInterval: number };
}

export interface RunningDistributionPoint {
  readonly url: string;
  readonly name: string;
  /** One content pass now (tests; the timer runs them too). */
  syncNow(): Promise<SiteSystemStatus>;
  stop(): Promise<void>;
}

/**
 * `steward dp start` (docs/scale-out.md): a distribution point on its own host with its own key (it
 * signs its requests to the site; it holds no key of the site). It serves its verified content
 * library over HTTP(S) with ranges, as the embedded DP does; every sync interval it pulls what the
 * site names (content-sync.ts) and reports its content state. While the site server is away it keeps
 * serving what it holds and reports again when the site is back.
 */
export async function startStandaloneDistributionPoint(
  options: StandaloneDistributionPointOptions,
): Promise<RunningDistributionPoint> {
  const layout = siteSystemLayout(options.dataDir);
  const config = await readSiteSystemConfig(layout, 'distribution-point');
  const trust = await readSiteSystemTrust(layout);
  const lock = await lockFolder(options.dataDir, 'steward dp start');
  try {
    const secret = siteSystemKeySecret(layout, config);
    const key = await readKeyFile(layout.systemKey, secret);
    await mkdir(layout.content, { recursive: true, mode: 0o755 });
    await removeImportLeftovers(layout.content).catch(() => undefined);
    // C1 (the pin taken at install), then the site keys the root certifies: manifests need one (C5).
    const siteKeys = (now: Date): Map<string, VerifyingKey> => {
      const root = trustRootFromPin(trust.rootChain, config.rootKeyId, now);
      const keys = new Map<string, VerifyingKey>();
      for (const certificate of trust.siteCertificates) {
        try {
          const verified = verifySiteCertificate(certificate, root, now);
          keys.set(verified.key.keyId, verified.key);
        } catch {
          // A site certificate that does not verify certifies nothing.
        }
      }
      return keys;
    };
    const tls =
      trust.tlsCaCertificate === null ? undefined : tlsOptionsFor({ caPem: trust.tlsCaCertificate });
    const site = new SiteConnection(config.siteUrl, tls, {
      siteCode: config.siteCode,
      role: 'distribution-point',
      name: config.name,
      key,
    });
    const listener = await createStandaloneListener({
      config,
      layout,
      secret,
      listen: options.listen,
      settings: options.settings,
    });
    await listener.app.register(distributionPointRoutes, { libraryDir: layout.content });
    listener.app.get('/health', () => ({
      status: 'ok',
      site: config.siteCode,
      distributionPoint: config.name,
    }));
    await listener.app.listen({ host: listener.address.host, port: listener.address.port });
    const log = listener.app.log;

    let running: Promise<SiteSystemStatus> | undefined;
    const syncNow = (): Promise<SiteSystemStatus> => {
      running ??= (async () => {
        const now = new Date();
        const content = await syncContent({
          site,
          source: (url) => new SiteConnection(url, tls, undefined),
          libraryDir: layout.content,
          siteKeys: () => siteKeys(now),
          now,
        });
        const failed = content.filter((item) => item.state !== 'present').length;
        const status: SiteSystemStatus = {
          health: failed === 0 ? 'ok' : 'degraded',
          detail:
            failed === 0
              ? `${content.length} versions present`
              : `${failed} of ${content.length} versions not present`,
          content,
        };
        await site.post(siteSystemPaths.status, status);
        return status;
      })().finally(() => {
        running = undefined;
      });
      return running;
    };
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const loop = () => {
      if (stopped) return;
      timer = setTimeout(() => {
        syncNow()
          .catch((error: unknown) => log.warn({ err: error }, 'content sync with the site failed; retrying'))
          .finally(loop);
      }, options.settings.syncInterval * 1000);
      timer.unref();
    };
    void syncNow()
      .catch((error: unknown) => log.warn({ err: error }, 'content sync with the site failed; retrying'))
      .finally(loop);
    let stopping: Promise<void> | undefined;
    return {
      url: standaloneUrl(listener),
      name: config.name,
      syncNow,
      stop: () => {
        stopping ??= (async () => {
          stopped = true;
          clearTimeout(timer);
          await running?.catch(() => undefined);
          await listener.app.close();
          await lock.release();
        })();
        return stopping;
      },
    };
  } catch (error) {
    await lock.release();
    throw error;
  }
}
