/**
 * Transport security of the site server (docs/tls.md): which scheme the listener serves, its
 * certificate from the hierarchy CA (renewed before it expires, swapped in with setSecureContext,
 * no restart), the revoked client serials it refuses on every new connection, the client
 * certificates the management point issues, and an optional second listener for the admin API and
 * console with an organisation's own certificate.
 */
import { readFile } from 'node:fs/promises';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { appendAudit } from '../../admin/audit-log/index.js';
import type { ClientCertificateSecurity } from '../../roles/management-point/client-certificate.js';
import { SettingsError } from '../../platform/settings.js';
import { siteServerSettings } from '../site-settings.js';
import { serverTlsOptions, type TlsClientOptions, type TlsServerOptions } from '../../trust/tls/index.js';
import { siteCertificateIssuer, type SiteCertificateIssuer } from '../tls/site-certificate-issuer.js';
import { CentralSiteCertificate } from './central-site-certificate.js';
import { prepareJoinedSiteTransport } from './joined-site-transport.js';
import { openSiteCertificateRenewal } from '../hierarchy/tls/site-certificate-renewal.js';
import type { SiteConfig } from '../data-folder/site-config.js';
import type { SiteDataLayout } from '../data-folder/layout.js';
import { keySecretFor, type SiteKeys } from '../data-folder/site-keys.js';
import type { SiteDb } from '../database/site-db.js';
import { isLoopbackHost, listenUrl, parseListen } from '../http/listen-address.js';
import { serverNames, SiteTls, type ServerCertificate } from '../tls/site-tls.js';

/** The transport settings of `steward site start` (src/site/site-settings.ts). */
export interface TransportSettings {
  tls: 'auto' | 'always' | 'never';
  insecureHttp: boolean;
  tlsCertificate: string;
  tlsKey: string;
  adminListen: string;
  serverCertificateDays: number;
  clientCertificateDays: number;
}

/** The defaults, from the settings table (declared once). */
export const defaultTransportSettings: TransportSettings = {
  tls: siteServerSettings.tls.default,
  insecureHttp: siteServerSettings.insecureHttp.default,
  tlsCertificate: siteServerSettings.tlsCertificate.default,
  tlsKey: siteServerSettings.tlsKey.default,
  adminListen: siteServerSettings.adminListen.default,
  serverCertificateDays: siteServerSettings.serverCertificateDays.default,
  clientCertificateDays: siteServerSettings.clientCertificateDays.default,
};

/**
 * HTTPS unless the listener is loopback only (`auto`), always, or never. Plain HTTP on an address
 * other than loopback needs --insecure-http, and is then reported (`insecure`).
 */
export function planTransport(
  host: string,
  settings: Pick<TransportSettings, 'tls' | 'insecureHttp'>,
): { scheme: 'http' | 'https'; insecure: boolean } {
  const loopback = isLoopbackHost(host);
  if (settings.tls === 'always' && settings.insecureHttp) {
    throw new SettingsError('--tls always and --insecure-http contradict each other');
  }
  const https = settings.tls === 'always' || (settings.tls === 'auto' && !loopback && !settings.insecureHttp);
  if (!https && !loopback && !settings.insecureHttp) {
    throw new SettingsError(
      `--tls never on ${host}, which other machines can reach: plain HTTP there needs --insecure-http`,
    );
  }
  return { scheme: https ? 'https' : 'http', insecure: !https && !loopback };
}

export interface SiteTransport {
  readonly scheme: 'http' | 'https';
  /** Plain HTTP on an address other machines reach (--insecure-http): logged and audited. */
  readonly insecure: boolean;
  /** For Fastify's `https` option (undefined: plain HTTP). */
  readonly httpsOptions: TlsServerOptions | undefined;
  /** The trust bundle's TLS fields (none over plain HTTP, so older agents keep working). */
  readonly bundleFields: { tlsCaCertificate?: string; tlsCaEndorsement?: string };
  /** Client certificates (undefined over plain HTTP). */
  readonly clientSecurity: ClientCertificateSecurity | undefined;
  /** The hierarchy CA with its key (undefined over plain HTTP): certifies site systems' TLS keys. */
  readonly issuing: SiteTls['issuing'] | undefined;
  /** The admin listener's URL (organisation certificate), or null. */
  readonly adminUrl: string | null;
  /** The site server's current certificate (undefined over plain HTTP). */
  certificate(): ServerCertificate | undefined;
  /** After the main listener is up: revocation hook, renewal timer, admin listener. */
  attach(app: FastifyInstance): Promise<void>;
  /** A client was revoked: its certificates are refused from the next connection (and request) on. */
  clientRevoked(clientId: string): Promise<void>;
  /** Site links to sites served over https: the hierarchy CA and this site's certificate. */
  linkTls(): TlsClientOptions | undefined;
  /** The hierarchy CA's issuer of other sites' server certificates (the central site only). */
  readonly siteCertificateIssuer: SiteCertificateIssuer | undefined;
  close(): Promise<void>;
}

/** Prepares the transport before the listener exists (the Fastify instance needs its TLS options). */
export async function prepareTransport(input: {
  config: SiteConfig;
  layout: SiteDataLayout;
  keys: SiteKeys;
  db: SiteDb;
  listenHost: string;
  settings: TransportSettings;
  now: Date;
}): Promise<SiteTransport> {
  const { config, layout, db, settings } = input;
  const plan = planTransport(input.listenHost, settings);
  if ((settings.tlsCertificate === '') !== (settings.tlsKey === '')) {
    throw new SettingsError('--tls-certificate and --tls-key are given together');
  }
  if ((settings.tlsCertificate === '') !== (settings.adminListen === '')) {
    throw new SettingsError(
      "--admin-listen serves the organisation's certificate (--tls-certificate, --tls-key); give all three: " +
        'agents keep the main listener, whose certificate they validate against the hierarchy CA',
    );
  }
  if (plan.insecure) {
    await appendAudit(
      db,
      {
        actor: 'site start',
        action: 'site.insecure-http',
        objectClass: 'site',
        objectId: config.code,
        details: { listen: input.listenHost },
      },
      input.now,
    );
  }
  const organisation =
    settings.tlsCertificate === ''
      ? undefined
      : serverTlsOptions({
          certificatePem: await readSetting(settings.tlsCertificate, '--tls-certificate'),
          keyPem: await readSetting(settings.tlsKey, '--tls-key'),
          clientCertificates: 'none',
        });
  const adminAddress = settings.adminListen === '' ? undefined : parseListen(settings.adminListen);
  const adminUrl = adminAddress === undefined ? null : listenUrl(adminAddress, 'https');

  const openCa = () =>
    SiteTls.open({
      db,
      layout,
      secret: keySecretFor(config, layout),
      rootSigners: input.keys.root,
      siteCode: config.code,
      now: new Date(),
    });
  const central = config.siteType === 'central';
  if (plan.scheme === 'https' && !central) {
    return prepareJoinedSiteTransport({ ...input, plan, organisation, adminAddress, adminUrl });
  }
  if (plan.scheme === 'http') {
    let adminServer: HttpsServer | undefined;
    // Opened now, not on first use: certifying runs inside a database transaction, and the CA's
    // records must not be read on another connection then (PGlite has one). Without a CA (an old
    // data folder whose root key is offline) children join without site certificates.
    const caOverHttp = central ? await openCa().catch(() => undefined) : undefined;
    // Its site certificate is still its client certificate on links to sites served over HTTPS.
    const linkCertificate = await plainHttpLinkCertificate(input, caOverHttp, settings);
    return {
      ...plan,
      httpsOptions: undefined,
      bundleFields: {},
      clientSecurity: undefined,
      issuing: undefined,
      adminUrl,
      certificate: () => undefined,
      attach: async (app) => {
        if (plan.insecure) {
          app.log.warn(
            { listen: input.listenHost },
            'plain HTTP on an address other machines can reach (--insecure-http): credentials and inventory cross the network in clear',
          );
        }
        linkCertificate?.start(app.log);
        if (organisation !== undefined && adminAddress !== undefined)
          adminServer = await startAdminListener(app, organisation, adminAddress);
      },
      clientRevoked: () => Promise.resolve(),
      linkTls: () => linkCertificate?.linkTls(),
      siteCertificateIssuer:
        caOverHttp === undefined
          ? undefined
          : siteCertificateIssuer(
              () => Promise.resolve(caOverHttp),
              settings.serverCertificateDays,
              settings.clientCertificateDays,
            ),
      close: async () => {
        linkCertificate?.stop();
        await closeServer(adminServer);
      },
    };
  }

  const tls = await openCa();
  const own = await CentralSiteCertificate.open(
    tls,
    serverNames(input.listenHost, config.publicUrl),
    settings.serverCertificateDays,
    input.now,
  );
  const optionsFor = (certificate: ServerCertificate) =>
    serverTlsOptions({
      certificatePem: certificate.certificatePem,
      keyPem: certificate.keyPem,
      caPem: tls.caCertificatePems,
      clientCertificates: 'optional',
    });
  let adminServer: HttpsServer | undefined;

  return {
    ...plan,
    httpsOptions: optionsFor(own.current),
    bundleFields: tls.bundleFields,
    issuing: tls.issuing,
    clientSecurity: {
      isRevoked: tls.revocations.isRevoked,
      certify: (request, now) =>
        tls.certifyClient(
          request.clientId,
          request.tlsPublicKey,
          request.tlsPublicKeySha256,
          settings.clientCertificateDays,
          now,
        ),
    },
    adminUrl,
    certificate: () => own.current,
    attach: async (app) => {
      const server = app.server as unknown as HttpsServer;
      tls.revocations.watch(server, app.log);
      // New connections get a renewed certificate; open ones keep theirs, so polling goes on.
      own.start(app.log, (next) => server.setSecureContext(optionsFor(next)));
      if (organisation !== undefined && adminAddress !== undefined)
        adminServer = await startAdminListener(app, organisation, adminAddress);
    },
    clientRevoked: (clientId) => tls.revocations.revokeClient(clientId, new Date()),
    // The central site's own certificate carries clientAuth: it is its client certificate on links.
    linkTls: () => own.linkTls(),
    siteCertificateIssuer: siteCertificateIssuer(
      () => Promise.resolve(tls),
      settings.serverCertificateDays,
      settings.clientCertificateDays,
    ),
    close: async () => {
      own.stop();
      tls.revocations.stop();
      await closeServer(adminServer);
    },
  };
}

/**
 * The site certificate a site serving plain HTTP presents on links to sites served over HTTPS,
 * kept current: the central site's from its CA, a joined site's renewed through its parent link.
 * Undefined without one (a data folder from before transport security, or a join without one).
 */
async function plainHttpLinkCertificate(
  input: { config: SiteConfig; layout: SiteDataLayout; db: SiteDb; listenHost: string; now: Date },
  ca: SiteTls | undefined,
  settings: TransportSettings,
): Promise<{ start(log: FastifyBaseLogger): void; stop(): void; linkTls(): TlsClientOptions } | undefined> {
  if (input.config.siteType === 'central') {
    if (ca === undefined) return undefined;
    return CentralSiteCertificate.open(
      ca,
      serverNames(input.listenHost, input.config.publicUrl),
      settings.serverCertificateDays,
      input.now,
    ).catch(() => undefined);
  }
  const opened = await openSiteCertificateRenewal(input).catch(() => undefined);
  if (opened === undefined) return undefined;
  const { renewal } = opened;
  return {
    start: (log) => {
      renewal.setLog(log);
      renewal.start();
    },
    stop: () => renewal.stop(),
    linkTls: () => renewal.linkTls(),
  };
}

async function readSetting(path: string, flag: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    throw new SettingsError(`${flag} ${path} cannot be read`, { cause });
  }
}

/**
 * The admin listener: the same routes (Fastify's router), served with the organisation's
 * certificate. It asks for no client certificate, so the management point's client endpoints
 * answer 401 there: agents use the main listener.
 */
export async function startAdminListener(
  app: FastifyInstance,
  options: TlsServerOptions,
  address: { host: string; port: number },
): Promise<HttpsServer> {
  const server = createHttpsServer(options, (request, response) => app.routing(request, response));
  server.headersTimeout = 60_000;
  server.requestTimeout = 120_000;
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

export async function closeServer(server: HttpsServer | undefined): Promise<void> {
  if (server === undefined) return;
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
