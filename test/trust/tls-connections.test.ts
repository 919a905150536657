/**
 * Transport security over real sockets (docs/tls.md): https.createServer on 127.0.0.1 with
 * hierarchy-issued certificates, httpsFetch trusting only the hierarchy CA, mutual TLS, and
 * revocation taking effect for new connections at once. These use the real clock: OpenSSL checks
 * certificate validity against it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StewardError } from '../../src/trust/index.js';
import {
  checkClientCertificate,
  createHierarchyCa,
  httpsFetch,
  issueClientCertificate,
  issueServerCertificate,
  refuseRevokedClients,
  serverTlsOptions,
  tlsOptionsFor,
  type TlsClientOptions,
} from '../../src/trust/tls/index.js';
import { buildOrganisationPki } from './support/organisation-pki.js';
import { seededKey } from './support/pki.js';
import { buildTlsHierarchy, codeOf, listen, type Listener, type TlsHierarchy } from './support/tls-pki.js';

const realNow = new Date();
const day = 86_400_000;
let ours: TlsHierarchy;
let theirs: TlsHierarchy;
const listeners: Listener[] = [];

async function started(listener: Promise<Listener>): Promise<Listener> {
  const running = await listener;
  listeners.push(running);
  return running;
}

function text(body: Uint8Array): string {
  return Buffer.from(body).toString('utf8');
}

/** Client options trusting our CA, presenting the given certificate. */
function clientOptions(client?: { certificatePem: string; keyPem: string }): TlsClientOptions {
  return tlsOptionsFor({
    caPem: ours.ca.caCertificatePem,
    ...(client === undefined ? {} : { clientCertPem: client.certificatePem, clientKeyPem: client.keyPem }),
  });
}

beforeAll(async () => {
  ours = await buildTlsHierarchy(seededKey('tls-ours-root'), realNow);
  theirs = await buildTlsHierarchy(seededKey('tls-theirs-root'), realNow);
});
afterAll(async () => {
  await Promise.all(listeners.map((listener) => listener.close()));
});

describe('server certificates', () => {
  it('an agent reaches a server whose certificate the hierarchy CA issued for 127.0.0.1', async () => {
    const { url } = await started(
      listen(serverTlsOptions({ certificatePem: ours.server.certificatePem, keyPem: ours.server.keyPem })),
    );
    const response = await httpsFetch(url, { tls: clientOptions(), maxBytes: 1024, timeoutMs: 5000 });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/plain');
    expect(text(response.body)).toBe('hello over tls');
  });

  it("refuses a server certificate from another hierarchy's CA (ERR_TLS_SERVER_UNTRUSTED)", async () => {
    const { url } = await started(
      listen(
        serverTlsOptions({ certificatePem: theirs.server.certificatePem, keyPem: theirs.server.keyPem }),
      ),
    );
    const error = await httpsFetch(url, { tls: clientOptions() }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StewardError);
    expect((error as StewardError).code).toBe('ERR_TLS_SERVER_UNTRUSTED');
    expect((error as StewardError).retryable).toBe(false);
  });

  it('refuses a certificate that does not name the host dialled, unless told the name to expect', async () => {
    const elsewhere = await issueServerCertificate(ours.ca, {
      commonName: 'dp1.example.test',
      dnsNames: ['dp1.example.test'],
      ipAddresses: ['192.0.2.7'],
      now: realNow,
    });
    const { url } = await started(
      listen(serverTlsOptions({ certificatePem: elsewhere.certificatePem, keyPem: elsewhere.keyPem })),
    );
    expect(await codeOf(httpsFetch(url, { tls: clientOptions() }))).toBe('ERR_TLS_SERVER_UNTRUSTED');
    const named = tlsOptionsFor({ caPem: ours.ca.caCertificatePem, serverName: 'dp1.example.test' });
    expect((await httpsFetch(url, { tls: named })).status).toBe(200);
    const wrongName = tlsOptionsFor({ caPem: ours.ca.caCertificatePem, serverName: 'mp9.example.test' });
    expect(await codeOf(httpsFetch(url, { tls: wrongName }))).toBe('ERR_TLS_SERVER_UNTRUSTED');
  });

  it('refuses an expired server certificate (ERR_TLS_SERVER_UNTRUSTED)', async () => {
    const past = new Date(realNow.getTime() - 20 * day);
    const oldCa = await createHierarchyCa({
      rootSigners: [seededKey('tls-old-root')],
      siteCode: 'ABC',
      now: past,
    });
    const expired = await issueServerCertificate(oldCa, {
      commonName: 'mp1',
      ipAddresses: ['127.0.0.1'],
      validityDays: 1,
      now: past,
    });
    const { url } = await started(
      listen(serverTlsOptions({ certificatePem: expired.certificatePem, keyPem: expired.keyPem })),
    );
    const tls = tlsOptionsFor({ caPem: oldCa.caCertificatePem });
    const error = (await httpsFetch(url, { tls }).catch((caught: unknown) => caught)) as StewardError;
    expect(error.code).toBe('ERR_TLS_SERVER_UNTRUSTED');
    expect(error.message).toContain('CERT_HAS_EXPIRED');
  });

  it('during a CA change a client trusts the old and the new CA', async () => {
    const { url } = await started(
      listen(
        serverTlsOptions({ certificatePem: theirs.server.certificatePem, keyPem: theirs.server.keyPem }),
      ),
    );
    const both = tlsOptionsFor({ caPem: [ours.ca.caCertificatePem, theirs.ca.caCertificatePem] });
    expect((await httpsFetch(url, { tls: both })).status).toBe(200);
  });
});

describe('mutual TLS', () => {
  let required: Listener;
  let served = 0;

  beforeAll(async () => {
    required = await started(
      listen(
        serverTlsOptions({
          certificatePem: ours.server.certificatePem,
          keyPem: ours.server.keyPem,
          caPem: ours.ca.caCertificatePem,
          clientCertificates: 'required',
        }),
        (request, response) => {
          served += 1;
          const identity = checkClientCertificate(request.socket, { required: true });
          response.end(identity?.clientId ?? 'nobody');
        },
      ),
    );
  });

  it('a server requiring client certificates accepts the CA-issued client certificate', async () => {
    const response = await httpsFetch(required.url, { tls: clientOptions(ours.client) });
    expect(response.status).toBe(200);
    expect(text(response.body)).toBe('a'.repeat(64));
  });

  it('refuses a client without a certificate in the handshake (ERR_TLS_CLIENT_REFUSED)', async () => {
    const before = served;
    expect(await codeOf(httpsFetch(required.url, { tls: clientOptions() }))).toBe('ERR_TLS_CLIENT_REFUSED');
    expect(served).toBe(before);
  });

  it("refuses a client certificate from another hierarchy's CA, before any request is served", async () => {
    // In TLS 1.3 the client may send its request before the server's "unknown CA" alert arrives; the
    // server then resets the connection and the client sees a reset instead of the alert.
    const before = served;
    const code = await codeOf(
      httpsFetch(required.url, { tls: clientOptions(theirs.client), timeoutMs: 5000 }),
    );
    expect(['ERR_TLS_CLIENT_REFUSED', 'ERR_HTTPS_FAILED']).toContain(code);
    expect(served).toBe(before);
  });
});

describe('revocation', () => {
  it('a revoked client serial is refused at the next connection, before any request is read', async () => {
    const revoked = new Set<string>();
    const refusals: string[] = [];
    let served = 0;
    const listener = await started(
      listen(
        serverTlsOptions({
          certificatePem: ours.server.certificatePem,
          keyPem: ours.server.keyPem,
          caPem: ours.ca.caCertificatePem,
          clientCertificates: 'required',
        }),
        (_request, response) => {
          served += 1;
          response.end('served');
        },
      ),
    );
    refuseRevokedClients(
      listener.server,
      (serial) => revoked.has(serial),
      (error) => refusals.push(error.code),
    );
    const tls = clientOptions(ours.client);
    expect((await httpsFetch(listener.url, { tls })).status).toBe(200);
    revoked.add(ours.client.serialHex);
    const code = await codeOf(httpsFetch(listener.url, { tls, timeoutMs: 5000 }));
    expect(['ERR_HTTPS_FAILED', 'ERR_TLS_CLIENT_REFUSED']).toContain(code);
    expect(refusals).toEqual(['ERR_TLS_CLIENT_REVOKED']);
    expect(served).toBe(1);
    const other = await issueClientCertificate(ours.ca, { clientId: 'b'.repeat(64), now: realNow });
    expect((await httpsFetch(listener.url, { tls: clientOptions(other) })).status).toBe(200);
  });

  it('with optional client certificates the request hook answers 403 for a revoked one, 401 for a foreign one', async () => {
    const revoked = new Set([ours.client.serialHex]);
    const listener = await started(
      listen(
        serverTlsOptions({
          certificatePem: ours.server.certificatePem,
          keyPem: ours.server.keyPem,
          caPem: ours.ca.caCertificatePem,
          clientCertificates: 'optional',
        }),
        (request, response) => {
          try {
            const identity = checkClientCertificate(request.socket, {
              isRevoked: (serial) => revoked.has(serial),
            });
            response.end(identity === undefined ? 'enrolment without a certificate' : identity.clientId);
          } catch (error) {
            const refused = error as StewardError;
            response.statusCode = refused.status;
            response.end(JSON.stringify({ code: refused.code }));
          }
        },
      ),
    );
    const anonymous = await httpsFetch(listener.url, { tls: clientOptions() });
    expect(text(anonymous.body)).toBe('enrolment without a certificate');
    const refused = await httpsFetch(listener.url, { tls: clientOptions(ours.client) });
    expect(refused.status).toBe(403);
    expect(JSON.parse(text(refused.body))).toEqual({ code: 'ERR_TLS_CLIENT_REVOKED' });
    const foreign = await httpsFetch(listener.url, { tls: clientOptions(theirs.client) });
    expect(foreign.status).toBe(401);
    expect(JSON.parse(text(foreign.body))).toEqual({ code: 'ERR_TLS_CLIENT_UNTRUSTED' });
  });
});

describe('httpsFetch limits', () => {
  let listener: Listener;

  beforeAll(async () => {
    listener = await started(
      listen(
        serverTlsOptions({ certificatePem: ours.server.certificatePem, keyPem: ours.server.keyPem }),
        (request, response) => {
          if (request.url === '/large') {
            response.setHeader('content-length', '5000');
            response.end('x'.repeat(5000));
          } else if (request.url === '/stream') {
            response.write('x'.repeat(3000));
            response.end('x'.repeat(3000));
          } else if (request.url === '/silent') {
            // never answers: the client's deadline ends the exchange
          } else {
            const chunks: Buffer[] = [];
            request.on('data', (chunk: Buffer) => chunks.push(chunk));
            request.on('end', () =>
              response.end(`${request.method ?? ''} ${Buffer.concat(chunks).toString('utf8')}`),
            );
          }
        },
      ),
    );
  });

  it('sends a method and body and reads the answer', async () => {
    const response = await httpsFetch(listener.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"ok":true}',
      tls: clientOptions(),
    });
    expect(text(response.body)).toBe('POST {"ok":true}');
  });

  it('C6 refuses a response over the byte limit, declared or streamed (ERR_TOO_LARGE)', async () => {
    expect(await codeOf(httpsFetch(`${listener.url}large`, { tls: clientOptions(), maxBytes: 4096 }))).toBe(
      'ERR_TOO_LARGE',
    );
    expect(await codeOf(httpsFetch(`${listener.url}stream`, { tls: clientOptions(), maxBytes: 4096 }))).toBe(
      'ERR_TOO_LARGE',
    );
    expect(
      (await httpsFetch(`${listener.url}stream`, { tls: clientOptions(), maxBytes: 6000 })).body,
    ).toHaveLength(6000);
  });

  it('gives up at the deadline (ERR_HTTPS_FAILED, retryable)', async () => {
    const error = (await httpsFetch(`${listener.url}silent`, { tls: clientOptions(), timeoutMs: 300 }).catch(
      (caught: unknown) => caught,
    )) as StewardError;
    expect(error.code).toBe('ERR_HTTPS_FAILED');
    expect(error.retryable).toBe(true);
  });

  it('refuses plain http and credentials in the URL (ERR_HTTPS_URL), and a closed port is ERR_HTTPS_FAILED', async () => {
    expect(await codeOf(httpsFetch(listener.url.replace('https:', 'http:'), { tls: clientOptions() }))).toBe(
      'ERR_HTTPS_URL',
    );
    expect(await codeOf(httpsFetch(listener.url.replace('//', '//user:pw@'), { tls: clientOptions() }))).toBe(
      'ERR_HTTPS_URL',
    );
    expect(await codeOf(httpsFetch('https://127.0.0.1:1/', { tls: clientOptions() }))).toBe(
      'ERR_HTTPS_FAILED',
    );
  });
});

describe("an organisation's own certificate", () => {
  it('serves the admin API with an RSA chain; the CLI trusts the organisation CA and refuses with the hierarchy CA', async () => {
    const organisation = await buildOrganisationPki(realNow);
    const { url } = await started(
      listen(
        serverTlsOptions({ certificatePem: organisation.serverChainPem, keyPem: organisation.serverKeyPem }),
      ),
    );
    const trusted = tlsOptionsFor({ caPem: organisation.rootCaPem });
    expect(text((await httpsFetch(url, { tls: trusted })).body)).toBe('hello over tls');
    expect(await codeOf(httpsFetch(url, { tls: clientOptions() }))).toBe('ERR_TLS_SERVER_UNTRUSTED');
    expect(() =>
      serverTlsOptions({ certificatePem: organisation.serverChainPem, keyPem: ours.server.keyPem }),
    ).toThrow(expect.objectContaining({ code: 'ERR_TLS_CERTIFICATE_INVALID' }) as Error);
  });
});
