/**
 * An agent with a pinned root trusts only the TLS CA its root endorsed (docs/tls.md): a server
 * with a certificate from another hierarchy's CA is refused at enrolment and while running, even
 * when it replays the genuine trust bundle; and enrolment refuses a server that changes its key
 * between the unvalidated first read of the trust bundle and the validated connection.
 */
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentLayout } from '../../src/agent/state/agent-layout.js';
import { siteDataLayout } from '../../src/site/data-folder/layout.js';
import { httpsFetch, SigningKey } from '../../src/trust/index.js';
import {
  createHierarchyCa,
  issueServerCertificate,
  openCertificateAuthority,
  readTlsKeyFile,
  type CertificateAuthority,
} from '../../src/trust/tls/index.js';
import { enrollTestAgent } from '../support/agent-files.js';
import { runSteward, stopAllStewardProcesses } from '../support/steward-process.js';
import { createHttpsSite, type HttpsSite } from './support/https-site.js';

let site: HttpsSite;
let work: string;
let bundle: Buffer;
const servers: Server[] = [];

beforeAll(async () => {
  site = await createHttpsSite('TLB');
  work = await mkdtemp(join(tmpdir(), 'steward-tls-foreign-'));
  const response = await httpsFetch(`${site.url}/mp/v1/trust`, { tls: site.tls });
  bundle = Buffer.from(response.body);
}, 120_000);

afterAll(async () => {
  for (const server of servers) server.close();
  await stopAllStewardProcesses();
  await site.remove();
  await rm(work, { recursive: true, force: true });
});

async function serverCertificate(ca: CertificateAuthority) {
  return issueServerCertificate(ca, { commonName: 'rogue', ipAddresses: ['127.0.0.1'], now: new Date() });
}

/** An HTTPS server on 127.0.0.1 that answers the genuine trust bundle of the site, nothing else. */
async function rogueServer(certificates: { certificatePem: string; keyPem: string }[]): Promise<string> {
  const [first, ...rest] = certificates;
  if (first === undefined) throw new Error('no certificate');
  const server = createServer({ cert: first.certificatePem, key: first.keyPem }, (request, response) => {
    if (request.url === '/mp/v1/trust') {
      response.writeHead(200, { 'content-type': 'application/json' }).end(bundle);
    } else {
      response.writeHead(404).end();
    }
  });
  // Each new connection gets the next certificate (a server that swaps its key between two reads).
  server.on('secureConnection', () => {
    const next = rest.shift();
    if (next !== undefined) server.setSecureContext({ cert: next.certificatePem, key: next.keyPem });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('no address');
  return `https://127.0.0.1:${address.port}`;
}

async function foreignCa(): Promise<CertificateAuthority> {
  return createHierarchyCa({ rootSigners: [SigningKey.generate()], siteCode: 'TLB', now: new Date() });
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

describe('an agent with a pinned root', () => {
  it("refuses at enrolment a server certificate from another hierarchy's CA", async () => {
    const url = await rogueServer([await serverCertificate(await foreignCa())]);
    const dataDir = join(work, 'enrol-foreign');
    const refused = await enrollTestAgent(dataDir, url, site.init.rootKeyId, {
      token: site.init.enrolmentToken,
    }).then(
      () => 'enrolled',
      (error: unknown) => (error as { code?: string }).code,
    );
    expect(refused).toBe('ERR_TLS_SERVER_UNTRUSTED');
    expect(await exists(agentLayout(dataDir).config)).toBe(false);
  });

  it('refuses at enrolment a server that presents another key on the validated connection', async () => {
    const layout = siteDataLayout(site.dataDir);
    const caKey = await readTlsKeyFile(layout.tlsCaKey, { secretFile: layout.keySecret });
    const ca = openCertificateAuthority(site.caPem, caKey);
    // Both certificates are the hierarchy CA's own: only the key changes between the two reads.
    const url = await rogueServer([await serverCertificate(ca), await serverCertificate(ca)]);
    const refused = await enrollTestAgent(join(work, 'enrol-swap'), url, site.init.rootKeyId, {
      token: site.init.enrolmentToken,
    }).then(
      () => 'enrolled',
      (error: unknown) => {
        const { code, message } = error as { code?: string; message?: string };
        return `${code ?? ''} ${message ?? ''}`;
      },
    );
    expect(refused).toMatch(/^ERR_TLS_SERVER_UNTRUSTED .*CERT_REJECTED/);
  });

  it("refuses while running a management point with another hierarchy's certificate", async () => {
    const dataDir = join(work, 'running');
    await enrollTestAgent(dataDir, site.url, site.init.rootKeyId, { token: site.init.enrolmentToken });
    const layout = agentLayout(dataDir);
    const first = await runSteward(['agent', 'run', '--data', dataDir, '--once', '--json']);
    expect((JSON.parse(first.stdout) as { errors: string[] }).errors).toEqual([]);

    const url = await rogueServer([await serverCertificate(await foreignCa())]);
    const config = JSON.parse(await readFile(layout.config, 'utf8')) as { managementPoints: string[] };
    await writeFile(layout.config, JSON.stringify({ ...config, managementPoints: [url] }));
    const result = await runSteward(['agent', 'run', '--data', dataDir, '--once', '--json']);
    const cycle = JSON.parse(result.stdout) as { managementPoint: string | null; errors: string[] };
    expect(cycle.managementPoint).toBeNull();
    expect(cycle.errors.join(' ')).toContain('ERR_TLS_SERVER_UNTRUSTED');
  }, 60_000);
});
