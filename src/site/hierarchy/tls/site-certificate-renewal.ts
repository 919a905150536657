/**
 * Keeps a joined site's site server certificate current (docs/tls.md, "Site certificates"): when a
 * quarter of its validity is left it queues a `site-tls-request` for the parent, then watches the
 * site database for the certificate that comes back down (site-certificate-flows.ts) and hands it
 * to `onRenewed` (a listener swaps it in with setSecureContext). It asks again when no answer came
 * within ten polls (the link may be closed by its schedule, or cut).
 */
import type { TlsClientOptions } from '../../../trust/index.js';
import type { SiteConfig } from '../../data-folder/site-config.js';
import type { SiteDataLayout } from '../../data-folder/layout.js';
import { keySecretFor } from '../../data-folder/site-keys.js';
import type { SiteDb } from '../../database/site-db.js';
import { DataFolderError } from '../../site-errors.js';
import { JoinedSiteTls } from '../../tls/joined-site-tls.js';
import { siteLinkTls, type ServerCertificate } from '../../tls/site-tls.js';
import { siteTlsRequest } from '../join/join-tls.js';
import { requestSiteCertificate } from './site-certificate-flows.js';

/** Longest single timer wait (setTimeout's limit is about 24.8 days). */
const maxTimerMs = 24 * 3600 * 1000;

export interface SiteCertificateRenewalOptions {
  db: SiteDb;
  siteCode: string;
  listenHost: string;
  publicUrl: string | null;
  onRenewed?: (next: ServerCertificate) => void;
}

/** Where the renewal reports (a Fastify logger, once the server exists). */
export interface RenewalLog {
  info(details: Record<string, unknown>, message: string): void;
  error(details: Record<string, unknown>, message: string): void;
}

/**
 * Opens a joined site's TLS material and its renewal (not started). ERR_DATA_FOLDER when the site
 * holds no site server certificate for keys/tls-server.key.
 */
export async function openSiteCertificateRenewal(input: {
  config: SiteConfig;
  layout: SiteDataLayout;
  db: SiteDb;
  listenHost: string;
  now: Date;
  onRenewed?: (next: ServerCertificate) => void;
}): Promise<{ tls: JoinedSiteTls; renewal: SiteCertificateRenewal }> {
  const { config, layout, db } = input;
  const tls = await JoinedSiteTls.open({
    db,
    layout,
    secret: keySecretFor(config, layout),
    siteCode: config.code,
    now: input.now,
  });
  const first = await tls.latest();
  if (first === undefined) {
    throw new DataFolderError('the site server certificate recorded does not certify keys/tls-server.key');
  }
  const renewal = new SiteCertificateRenewal(tls, first, {
    db,
    siteCode: config.code,
    listenHost: input.listenHost,
    publicUrl: config.publicUrl,
    ...(input.onRenewed === undefined ? {} : { onRenewed: input.onRenewed }),
  });
  return { tls, renewal };
}

export class SiteCertificateRenewal {
  #current: ServerCertificate;
  #timer: NodeJS.Timeout | undefined;
  #requestedAt = 0;
  #stopped = true;
  #log: RenewalLog | undefined;

  constructor(
    private readonly tls: JoinedSiteTls,
    first: ServerCertificate,
    private readonly options: SiteCertificateRenewalOptions,
  ) {
    this.#current = first;
  }

  get current(): ServerCertificate {
    return this.#current;
  }

  /** TLS client options for site links: the hierarchy CA only, and this site's certificate. */
  linkTls(): TlsClientOptions {
    return siteLinkTls(this.tls.caCertificatePems, this.#current);
  }

  setLog(log: RenewalLog): void {
    this.#log = log;
  }

  start(): void {
    this.#stopped = false;
    this.#schedule(this.#current.renewAt.getTime() - Date.now());
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /** How often the database is read once renewal is due. */
  #pollMs(): number {
    const total = this.#current.notAfter.getTime() - this.#current.notBefore.getTime();
    return Math.max(1000, Math.min(60_000, total / 100));
  }

  #schedule(wait: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#check(), Math.max(1000, Math.min(maxTimerMs, wait)));
    this.#timer.unref();
  }

  async #check(): Promise<void> {
    try {
      const latest = await this.tls.latest();
      if (this.#stopped) return;
      const current = this.#current;
      if (
        latest !== undefined &&
        latest.serialHex !== current.serialHex &&
        latest.notAfter > current.notAfter
      ) {
        this.options.onRenewed?.(latest);
        this.#current = latest;
        this.#requestedAt = 0;
        this.#log?.info(
          { serial: latest.serialHex, notAfter: latest.notAfter.toISOString() },
          'site server certificate renewed by the hierarchy CA',
        );
        return this.#schedule(latest.renewAt.getTime() - Date.now());
      }
      const now = Date.now();
      if (now < current.renewAt.getTime()) return this.#schedule(current.renewAt.getTime() - now);
      if (this.#requestedAt === 0 || now - this.#requestedAt > 10 * this.#pollMs()) {
        await requestSiteCertificate(
          this.options.db,
          this.options.siteCode,
          siteTlsRequest(this.tls.key, this.options.listenHost, this.options.publicUrl),
          new Date(now),
        );
        this.#requestedAt = now;
        this.#log?.info(
          { serial: current.serialHex },
          'site server certificate due: renewal asked of the parent',
        );
      }
      this.#schedule(this.#pollMs());
    } catch (error) {
      this.#log?.error({ err: error }, 'renewing the site server certificate failed; trying again');
      this.#schedule(this.#pollMs());
    }
  }
}
