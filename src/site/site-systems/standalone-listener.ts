import { readFile } from 'node:fs/promises';
import Fastify, { type FastifyInstance } from 'fastify';
import { SettingsError } from '../../platform/settings.js';
import { protocolLimits } from '../../protocol/index.js';
import { readTlsKeyFile, tlsKeyPem, type KeySecret } from '../../trust/index.js';
import { serverTlsOptions } from '../../trust/tls/index.js';
import { clientErrorHandler, frameworkErrors, installErrorHandler } from '../http/error-handler.js';
import { listenUrl, parseListen, type ListenAddress } from '../http/listen-address.js';
import { planTransport } from '../server/transport.js';
import type { SiteSystemConfig, SiteSystemLayout } from './site-system-folder.js';

export interface StandaloneListenerSettings {
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug';
  tls: 'auto' | 'always' | 'never';
  insecureHttp: boolean;
}

export interface StandaloneListener {
  readonly app: FastifyInstance;
  readonly address: ListenAddress;
  readonly scheme: 'http' | 'https';
  /** Plain HTTP on an address other machines reach (--insecure-http): logged. */
  readonly insecure: boolean;
  /** The hierarchy CA certificate (HTTPS only). */
  readonly caPem: string | undefined;
}

/**
 * The listener of a management point or distribution point on its own host (docs/scale-out.md,
 * docs/tls.md): the same rules as the site server's. HTTPS with the server certificate the site's
 * hierarchy CA issued at install, unless the listener is loopback only (`--tls auto`); plain HTTP
 * on another address only with --insecure-http. Client certificates are asked for but optional
 * (agents enrol first); the routes that need one check it.
 */
export async function createStandaloneListener(input: {
  config: SiteSystemConfig;
  layout: SiteSystemLayout;
  secret: KeySecret;
  listen: string | undefined;
  settings: StandaloneListenerSettings;
}): Promise<StandaloneListener> {
  const { config, layout, settings } = input;
  const first = new URL(config.urls[0] ?? 'http://127.0.0.1:8440');
  const address = parseListen(
    input.listen ?? `${first.hostname}:${first.port === '' ? defaultPort(first) : first.port}`,
  );
  const plan = planTransport(address.host, settings);
  let https: ReturnType<typeof serverTlsOptions> | undefined;
  let caPem: string | undefined;
  if (plan.scheme === 'https') {
    if (!config.tls) {
      throw new SettingsError(
        `${config.name} was installed without an https URL, so it holds no TLS certificate: install it again with --url https://…, or listen on loopback`,
      );
    }
    caPem = await readFile(layout.tlsCaCertificate, 'utf8');
    https = serverTlsOptions({
      certificatePem: await readFile(layout.tlsServerCertificate, 'utf8'),
      keyPem: tlsKeyPem(await readTlsKeyFile(layout.tlsKey, input.secret)),
      caPem: [caPem],
      clientCertificates: 'optional',
    });
  }
  const timeouts = { requestTimeout: 120_000, headersTimeout: 60_000, connectionsCheckingInterval: 30_000 };
  const app = Fastify({
    ...(https === undefined ? {} : { https: { ...https, ...timeouts } }),
    logger: { level: settings.logLevel },
    bodyLimit: protocolLimits.maxRequestBytes,
    connectionTimeout: 60_000,
    requestTimeout: 120_000,
    http: timeouts,
    keepAliveTimeout: 65_000,
    routerOptions: { maxParamLength: 512 },
    return503OnClosing: true,
    frameworkErrors,
    clientErrorHandler,
  });
  installErrorHandler(app);
  app.removeContentTypeParser('text/plain');
  return { app, address, scheme: plan.scheme, insecure: plan.insecure, caPem };
}

/** The URL a listener answers at. */
export function standaloneUrl(listener: StandaloneListener): string {
  return listenUrl(listener.address, listener.scheme);
}

function defaultPort(url: URL): string {
  return url.protocol === 'https:' ? '443' : '80';
}
