/**
 * HTTPS at a site that joined a hierarchy (docs/tls.md, "Site certificates"). It holds no CA key:
 * it serves the site server certificate the central site's hierarchy CA issued at join, asks for
 * client certificates from that CA (site links require a site server certificate, link-peer.ts;
 * agents need their client certificate for policy and reports), refuses revoked ones right after
 * the handshake, and renews before expiry through its parent link (site-certificate-renewal.ts);
 * the renewed certificate is swapped in with setSecureContext, so open connections (and links) go
 * on. Its agents' client certificates come from the central site's CA through the parent link
 * (client-certificate-flows.ts).
 */
import type { Server as HttpsServer } from 'node:https';
import { serverTlsOptions, type TlsServerOptions } from '../../trust/tls/index.js';
import type { SiteConfig } from '../data-folder/site-config.js';
import type { SiteDataLayout } from '../data-folder/layout.js';
import type { SiteDb } from '../database/site-db.js';
import { openSiteCertificateRenewal } from '../hierarchy/tls/site-certificate-renewal.js';
import { relayClientCertificates } from '../hierarchy/tls/client-certificate-flows.js';
import { ClientRevocations } from '../tls/client-revocations.js';
import type { ServerCertificate } from '../tls/site-tls.js';
import { closeServer, startAdminListener, type SiteTransport } from './transport.js';

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
  let server: HttpsServer | undefined;
  let adminServer: HttpsServer | undefined;
  const { tls, renewal } = await openSiteCertificateRenewal({
    ...input,
    onRenewed: (next) => server?.setSecureContext(optionsFor(next)),
  });
  const revocations = new ClientRevocations(input.db);
  await revocations.refresh(input.now);
  const optionsFor = (certificate: ServerCertificate) =>
    serverTlsOptions({
      certificatePem: certificate.certificatePem,
      keyPem: certificate.keyPem,
      caPem: tls.caCertificatePems,
      clientCertificates: 'optional',
    });
  return {
    ...input.plan,
    httpsOptions: optionsFor(renewal.current),
    bundleFields: tls.bundleFields,
    // Only the central site holds the CA key: agents' requests travel up the parent link.
    clientSecurity: {
      isRevoked: revocations.isRevoked,
      certify: relayClientCertificates(input.db, input.config.code),
    },
    adminUrl: input.adminUrl,
    certificate: () => renewal.current,
    attach: async (app) => {
      server = app.server as unknown as HttpsServer;
      renewal.setLog(app.log);
      renewal.start();
      revocations.watch(server, app.log);
      if (input.organisation !== undefined && input.adminAddress !== undefined)
        adminServer = await startAdminListener(app, input.organisation, input.adminAddress);
    },
    clientRevoked: (clientId) => revocations.revokeClient(clientId, new Date()),
    linkTls: () => renewal.linkTls(),
    siteCertificateIssuer: undefined,
    // Site systems' TLS certificates come from the CA, which only the central site holds.
    issuing: undefined,
    close: async () => {
      renewal.stop();
      revocations.stop();
      await closeServer(adminServer);
    },
  };
}
