/**
 * The central site's own site server certificate from its hierarchy CA (docs/tls.md): served by
 * its HTTPS listener and presented as its client certificate on site links to sites served over
 * HTTPS (also when the central site itself serves plain HTTP on loopback). Renewed when a quarter
 * of its validity is left; `onRenewed` swaps it into the listener (open connections keep theirs, so
 * polling goes on); a failed renewal is tried again a minute later.
 */
import type { TlsClientOptions } from '../../trust/tls/index.js';
import { siteLinkTls, type ServerCertificate, type ServerNames, type SiteTls } from '../tls/site-tls.js';

/** Longest single timer wait (setTimeout's limit is about 24.8 days). */
const maxTimerMs = 24 * 3600 * 1000;

/** Where renewals are reported (a Fastify logger, once the server exists). */
export interface CertificateLog {
  info(details: Record<string, unknown>, message: string): void;
  error(details: Record<string, unknown>, message: string): void;
}

export class CentralSiteCertificate {
  #current: ServerCertificate;
  #timer: NodeJS.Timeout | undefined;
  #stopped = true;
  #log: CertificateLog | undefined;
  #onRenewed: ((next: ServerCertificate) => void) | undefined;

  private constructor(
    private readonly tls: SiteTls,
    private readonly names: ServerNames,
    private readonly validityDays: number,
    first: ServerCertificate,
  ) {
    this.#current = first;
  }

  /** The stored certificate for these names, or a new one (SiteTls.serverCertificate). */
  static async open(
    tls: SiteTls,
    names: ServerNames,
    validityDays: number,
    now: Date,
  ): Promise<CentralSiteCertificate> {
    return new CentralSiteCertificate(
      tls,
      names,
      validityDays,
      await tls.serverCertificate(names, validityDays, now),
    );
  }

  get current(): ServerCertificate {
    return this.#current;
  }

  /** TLS client options for site links: the hierarchy CA only, and this site's certificate. */
  linkTls(): TlsClientOptions {
    return siteLinkTls(this.tls.caCertificatePems, this.#current);
  }

  start(log: CertificateLog, onRenewed?: (next: ServerCertificate) => void): void {
    this.#log = log;
    this.#onRenewed = onRenewed;
    this.#stopped = false;
    this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #schedule(retryMs?: number): void {
    if (this.#stopped) return;
    const wait =
      retryMs ?? Math.max(1000, Math.min(maxTimerMs, this.#current.renewAt.getTime() - Date.now()));
    this.#timer = setTimeout(() => void this.#renew(), wait);
    this.#timer.unref();
  }

  async #renew(): Promise<void> {
    if (Date.now() < this.#current.renewAt.getTime()) return this.#schedule();
    try {
      const next = await this.tls.serverCertificate(this.names, this.validityDays, new Date());
      if (this.#stopped) return;
      this.#onRenewed?.(next);
      this.#current = next;
      this.#log?.info(
        { serial: next.serialHex, notAfter: next.notAfter.toISOString() },
        'TLS server certificate renewed',
      );
      this.#schedule();
    } catch (error) {
      this.#log?.error(
        { err: error },
        'renewing the TLS server certificate failed; trying again in a minute',
      );
      this.#schedule(60_000);
    }
  }
}
