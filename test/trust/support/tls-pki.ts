/**
 * Test PKI for transport security: hierarchy CAs endorsed by test roots, server and client
 * certificates, and real HTTPS listeners on 127.0.0.1. Connection tests use the real clock: OpenSSL
 * checks certificate validity against it, not against the trust tests' fixed "now".
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SigningKey } from '../../../src/trust/index.js';
import {
  createHierarchyCa,
  issueClientCertificate,
  issueServerCertificate,
  type HierarchyCa,
  type IssuedCertificate,
  type TlsServerOptions,
} from '../../../src/trust/tls/index.js';

/** A hierarchy CA with a server certificate for 127.0.0.1 and one client certificate. */
export type TlsHierarchy = {
  ca: HierarchyCa;
  server: IssuedCertificate;
  client: IssuedCertificate;
};

export async function buildTlsHierarchy(
  rootKey: SigningKey,
  now: Date,
  clientId = 'a'.repeat(64),
): Promise<TlsHierarchy> {
  const ca = await createHierarchyCa({ rootSigners: [rootKey], siteCode: 'ABC', now, validityDays: 30 });
  const server = await issueServerCertificate(ca, {
    commonName: 'mp1.example.test',
    dnsNames: ['mp1.example.test', 'localhost'],
    ipAddresses: ['127.0.0.1'],
    validityDays: 7,
    now,
  });
  const client = await issueClientCertificate(ca, { clientId, validityDays: 7, now });
  return { ca, server, client };
}

/** A running HTTPS listener on 127.0.0.1 and its base URL. */
export type Listener = { server: Server; url: string; close(): Promise<void> };

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

const hello: Handler = (_request, response) => {
  response.setHeader('content-type', 'text/plain');
  response.end('hello over tls');
};

/** Starts https.createServer with the options on an ephemeral port of 127.0.0.1. */
export async function listen(options: TlsServerOptions, handler: Handler = hello): Promise<Listener> {
  const server = createServer({ ...options }, handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `https://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The error code a promise rejects with ('resolved' when it does not). */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as { code?: string }).code ?? 'no code';
  }
  return 'resolved';
}
