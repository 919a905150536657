/**
 * HTTPS at a site that joined a hierarchy (docs/tls.md, "Site certificates"). It holds no CA key:
 * it serves the site server certificate the central site's hierarchy CA issued at join, asks for
 * client certificates from that CA (site links require a site server certificate, link-peer.ts),
 * and renews before expiry through its parent link: when a quarter of the validity is left it
 * queues a `site-tls-request` for its parent, and the certificate that comes back down is swapped
 * in with setSecureContext (open connections keep theirs, so links are not interrupted).
 */
import type { Server as HttpsServer } from 'node:https';
import type { FastifyBaseLogger } from 'fastify';
import { serverTlsOptions, tlsOptionsFor, type TlsServerOptions } from '../../trust/tls/index.js';
import type { SiteConfig } from '../data-folder/site-config.js';
import type { SiteDataLayout } from '../data-folder/layout.js';
import { keySecretFor } from '../data-folder/site-keys.js';
import type { SiteDb } from '../database/site-db.js';
import { DataFolderError } from '../site-errors.js';
import { siteTlsRequest } from '../hierarchy/join/join-tls.js';
import { requestSiteCertificate } from '../hierarchy/tls/site-certificate-flows.js';
import { JoinedSiteTls } from '../tls/joined-site-tls.js';
import type { ServerCertificate } from '../tls/site-tls.js';
import { closeServer, startAdminListener, type SiteTransport } from './transport.js';

/** Longest single timer wait (setTimeout's limit is about 24.8 days). */
const maxTimerMs = 24 * 3600 * 1000;

export async function prepareJoinedSiteTransport(input: {
  config: SiteConfig;
  layout: SiteDataLayout;
  db: SiteDb;
  listenHost: string;
  now: Date;
  plan: { scheme: 'http' | 'https'; insecure: boolean };
  organisation: TlsServerOptions | undefined;
  adminAddress: { host: string; port: number } | undefined;
  adminUrl: string | null;
}): Promise<SiteTransport> {
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
  let current: ServerCertificate = first;
  const optionsFor = (certificate: ServerCertificate) =>
    serverTlsOptions({
      certificatePem: certificate.certificatePem,
      keyPem: certificate.keyPem,
      caPem: tls.caCertificatePems,
      clientCertificates: 'optional',
    });
  let timer: NodeJS.Timeout | undefined;
  let adminServer: HttpsServer | undefined;
  let closed = false;
  let requestedAt = 0;
  let log: FastifyBaseLogger | undefined;

  // Polls the database for the renewed certificate this often once renewal is due.
  const pollMs = () =>
    Math.max(1000, Math.min(60_000, (current.notAfter.getTime() - current.notBefore.getTime()) / 100));
  const schedule = (server: HttpsServer, wait: number) => {
    if (closed) return;
    timer = setTimeout(() => void check(server), Math.max(1000, Math.min(maxTimerMs, wait)));
    timer.unref();
  };
  const check = async (server: HttpsServer) => {
    try {
      const latest = await tls.latest();
      if (closed) return;
      if (
        latest !== undefined &&
        latest.serialHex !== current.serialHex &&
        latest.notAfter > current.notAfter
      ) {
        server.setSecureContext(optionsFor(latest));
        current = latest;
        requestedAt = 0;
        log?.info(
          { serial: latest.serialHex, notAfter: latest.notAfter.toISOString() },
          'site server certificate renewed by the hierarchy CA',
        );
        return schedule(server, current.renewAt.getTime() - Date.now());
      }
      const now = Date.now();
      if (now < current.renewAt.getTime()) return schedule(server, current.renewAt.getTime() - now);
      // Ask again when no answer came within ten polls (the link may have been down).
      if (requestedAt === 0 || now - requestedAt > 10 * pollMs()) {
        await requestSiteCertificate(
          db,
          config.code,
          siteTlsRequest(tls.key, input.listenHost, config.publicUrl),
          new Date(now),
        );
        requestedAt = now;
        log?.info({ serial: current.serialHex }, 'site server certificate due: renewal asked of the parent');
      }
      schedule(server, pollMs());
    } catch (error) {
      log?.error({ err: error }, 'renewing the site server certificate failed; trying again');
      schedule(server, pollMs());
    }
  };

  return {
    ...input.plan,
    httpsOptions: optionsFor(current),
    bundleFields: tls.bundleFields,
    // Only the central site holds the CA key that certifies agents' TLS keys.
    clientSecurity: undefined,
    adminUrl: input.adminUrl,
    certificate: () => current,
    attach: async (app) => {
      const server = app.server as unknown as HttpsServer;
      log = app.log;
      schedule(server, current.renewAt.getTime() - Date.now());
      if (input.organisation !== undefined && input.adminAddress !== undefined)
        adminServer = await startAdminListener(app, input.organisation, input.adminAddress);
    },
    clientRevoked: () => Promise.resolve(),
    linkTls: () =>
      tlsOptionsFor({
        caPem: tls.caCertificatePems,
        clientCertPem: current.certificatePem,
        clientKeyPem: current.keyPem,
      }),
    siteCertificateIssuer: undefined,
    close: async () => {
      closed = true;
      clearTimeout(timer);
      await closeServer(adminServer);
    },
  };
}
