/**
 * HTTPS at a site that joined a hierarchy (docs/tls.md, "Site certificates"). It holds no CA key:
 * it serves the site server certificate the central site's hierarchy CA issued at join, asks for
 * client certificates from that CA (site links require a site server certificate, link-peer.ts),
 * and renews before expiry through its parent link (site-certificate-renewal.ts); the renewed
 * certificate is swapped in with setSecureContext, so open connections (and links) go on.
 */
import type { Server as HttpsServer } from 'node:https';
import { serverTlsOptions, type TlsServerOptions } from '../../trust/tls/index.js';
import type { SiteConfig } from '../data-folder/site-config.js';
import type { SiteDataLayout } from '../data-folder/layout.js';
import type { SiteDb } from '../database/site-db.js';
import { openSiteCertificateRenewal } from '../hierarchy/tls/site-certificate-renewal.js';
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
    // Only the central site holds the CA key that certifies agents' TLS keys.
    clientSecurity: undefined,
    adminUrl: input.adminUrl,
    certificate: () => renewal.current,
    attach: async (app) => {
      server = app.server as unknown as HttpsServer;
      renewal.setLog(app.log);
      renewal.start();
      if (input.organisation !== undefined && input.adminAddress !== undefined)
        adminServer = await startAdminListener(app, input.organisation, input.adminAddress);
    },
    clientRevoked: () => Promise.resolve(),
    linkTls: () => renewal.linkTls(),
    siteCertificateIssuer: undefined,
    // Site systems' TLS certificates come from the CA, which only the central site holds.
    issuing: undefined,
    close: async () => {
      renewal.stop();
      await closeServer(adminServer);
    },
  };
}
