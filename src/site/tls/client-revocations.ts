/**
 * The revoked TLS client certificates a site server's listener refuses (docs/tls.md, "Serving"):
 * revoked serials and every certificate of a revoked client, read from the site database at start
 * and every 30 seconds (other processes revoke too), and added at once when this process revokes a
 * client. Consulted synchronously on every new connection, right after its handshake.
 */
import type { Server as HttpsServer } from 'node:https';
import { refuseRevokedClients } from '../../trust/tls/index.js';
import type { SiteDb } from '../database/site-db.js';
import { revokeClientCertificates, revokedSerials } from './tls-store.js';

/** How often revocations made by other processes are read from the database. */
const refreshMs = 30_000;

/** Where a listener's refusals and refresh failures are reported (a Fastify logger). */
export interface RevocationLog {
  warn(details: Record<string, unknown>, message: string): void;
  error(details: Record<string, unknown>, message: string): void;
}

export class ClientRevocations {
  readonly #revoked = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #unhook: (() => void) | undefined;

  constructor(private readonly db: SiteDb) {}

  /** True when a certificate serial is revoked (synchronous: consulted on every connection). */
  readonly isRevoked = (serialHex: string): boolean => this.#revoked.has(serialHex);

  /** Reloads the revoked serials from the database. */
  async refresh(now: Date): Promise<void> {
    for (const serial of await revokedSerials(this.db, now)) this.#revoked.add(serial);
  }

  /** Marks serials revoked at once (the database was updated by the caller). */
  add(serials: Iterable<string>): void {
    for (const serial of serials) this.#revoked.add(serial);
  }

  /** A client was revoked here: its certificates are revoked in the database and refused at once. */
  async revokeClient(clientId: string, now: Date): Promise<void> {
    this.add(await revokeClientCertificates(this.db, clientId, now));
  }

  /**
   * Closes revoked or foreign client certificates' connections right after the handshake, and
   * reads revocations made by other processes every 30 seconds, until `stop`.
   */
  watch(server: HttpsServer, log: RevocationLog): void {
    this.#unhook = refuseRevokedClients(server, this.isRevoked, (error) =>
      log.warn({ code: error.code }, `TLS connection refused: ${error.message}`),
    );
    this.#timer = setInterval(() => {
      this.refresh(new Date()).catch((error: unknown) =>
        log.error({ err: error }, 'reading revoked certificates failed'),
      );
    }, refreshMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#unhook?.();
  }
}
