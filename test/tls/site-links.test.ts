/**
 * Site-to-site mutual TLS (docs/tls.md, "Site certificates"): a central site and a child primary
 * site both serving HTTPS on loopback. The child joins over HTTPS with a token and gets a site
 * server certificate from the hierarchy CA for a key that never left it; the link runs over
 * mutual TLS and a package and deployment flow down; the link endpoints refuse a connection
 * without a site certificate, with an agent's, or with another site's (ERR_SITE_LINK_PEER), in
 * addition to S3; the child's short-lived certificate is renewed through its parent link without
 * interrupting the link. A secondary site started with --tls always serves HTTPS with its own site
 * certificate and refuses plain HTTP; off loopback it refuses --tls never without --insecure-http.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect, type PeerCertificate } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { siteDataLayout } from '../../src/site/data-folder/layout.js';
import {
  httpsFetch,
  readTlsKeyFile,
  signDocument,
  SigningKey,
  tlsOptionsFor,
  type TlsClientOptions,
} from '../../src/trust/index.js';
import {
  issueClientCertificate,
  issueServerCertificate,
  openCertificateAuthority,
  type CertificateAuthority,
} from '../../src/trust/tls/index.js';
import { freePort } from '../support/site-process.js';
import { startSteward, waitUntil } from '../support/steward-process.js';
import { joinHttpsChild, startHttpsCentral, type HttpsHierarchySite } from './support/https-hierarchy.js';

/** 0.0015 days = 129.6 s, back-dated 5 minutes: due for renewal about 22 s after issue. */
const shortDays = '0.0015';

let central: HttpsHierarchySite;
let child: HttpsHierarchySite;
let caPem: string;
let tls: TlsClientOptions;
let ca: CertificateAuthority;

interface LinkView {
  siteCode: string;
  inboundSequence: number;
  acknowledgedSequence: number;
  lastError: string | null;
}
interface HierarchyView {
  links: LinkView[];
  contentTransfers: { packageId: string; state: string; lastError: string | null }[];
}

beforeAll(async () => {
  ({
    site: central,
    caPem,
    tls,
  } = await startHttpsCentral('MTC', '127.0.0.1', ['--server-certificate-days', shortDays]));
  child = await joinHttpsChild(central, 'MTP', '127.0.0.2', tls);
  // The test mints certificates with the hierarchy CA as an attacker holding an agent's or another
  // site's certificate would present them.
  const layout = siteDataLayout(central.dataDir);
  ca = openCertificateAuthority(
    caPem,
    await readTlsKeyFile(layout.tlsCaKey, { secretFile: layout.keySecret }),
  );
}, 240_000);

afterAll(async () => {
  await child.remove();
  await central.remove();
});

async function peerCertificate(host: string, port: number): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, rejectUnauthorized: false }, () => {
      const certificate = socket.getPeerCertificate();
      socket.end();
      resolve(certificate);
    });
    socket.once('error', reject);
  });
}

function link(view: HierarchyView, code: string): LinkView {
  const found = view.links.find((l) => l.siteCode === code);
  if (found === undefined) throw new Error(`no link to ${code}`);
  return found;
}

/** A syntactically valid site message claiming to come from `fromSite`, signed by a key nobody certified. */
function claimedMessage(fromSite: string, toSite: string): string {
  const now = new Date();
  return signDocument(
    {
      kind: 'site-message',
      sequence: 1,
      fromSite,
      toSite,
      records: [{ recordId: 'r1', type: 'status', body: {} }],
      issuedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + 60_000).toISOString(),
    },
    [SigningKey.generate()],
  ).encoded;
}

async function postMessage(site: HttpsHierarchySite, message: string, options: TlsClientOptions) {
  const answer = await httpsFetch(`${site.url}/hierarchy/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ message }),
    tls: options,
    timeoutMs: 30_000,
  });
  const body = JSON.parse(Buffer.from(answer.body).toString('utf8')) as { error?: { code: string } };
  return { status: answer.status, code: body.error?.code };
}

describe('site-to-site mutual TLS', () => {
  it('the child serves HTTPS with a site server certificate the hierarchy CA issued for its code and key', async () => {
    const layout = siteDataLayout(child.dataDir);
    const served = await peerCertificate(child.host, child.port);
    expect(served.subject.CN).toBe('MTP site server');
    expect(served.subjectaltname).toContain('IP Address:127.0.0.2');
    expect(await readFile(layout.tlsCaCertificate, 'utf8')).toBe(caPem);
    expect(served.issuer.CN).toContain('Steward hierarchy CA MTC');
    // The private key stayed at the child: the central site holds no key file for it.
    const centralKeys = await readFile(join(central.dataDir, 'keys', 'tls-server.key'), 'utf8');
    const childKeys = await readFile(layout.tlsServerKey, 'utf8');
    expect(childKeys).not.toBe(centralKeys);
  });

  it('the link runs over mutual TLS: site control goes up, a package and deployment come down', async () => {
    await waitUntil(
      async () => link(await central.api<HierarchyView>('GET', '/hierarchy'), 'MTP').inboundSequence >= 1,
      'the child to send over its HTTPS link',
      60_000,
      250,
    );
    const source = join(central.dir, 'source-tool');
    await mkdir(source, { recursive: true });
    await writeFile(join(source, 'install.sh'), 'echo installed\n');
    const job = await central.api<{ id: string }>('POST', '/packages', {
      name: 'tool',
      version: '1.0',
      sourcePath: source,
      programs: [{ name: 'install', commandLine: 'sh install.sh', timeLimitSeconds: 60 }],
    });
    const done = await waitUntil(async () => {
      const view = await central.api<{ state: string; result: { packageId: string } | null }>(
        'GET',
        `/jobs/${job.id}`,
      );
      return view.state === 'running' ? undefined : view;
    }, 'the package import');
    const packageId = done.result?.packageId ?? '';
    const collection = await central.api<{ id: string }>('POST', '/collections', {
      name: 'none yet',
      rule: null,
      clientIds: [],
    });
    const deployment = await central.api<{ id: string }>('POST', '/deployments', {
      packageId,
      programName: 'install',
      collectionId: collection.id,
      mandatory: true,
    });
    // The content is pulled from the central site's distribution point over mutual TLS too.
    await waitUntil(
      async () => {
        const view = await child.api<HierarchyView>('GET', '/hierarchy');
        return view.contentTransfers.some((t) => t.packageId === packageId && t.state === 'done');
      },
      'the package content to reach the child over HTTPS',
      90_000,
      250,
    );
    const deployments = await waitUntil(async () => {
      const list = await child.api<{ items: { id: string }[] }>('GET', '/deployments');
      return list.items.some((d) => d.id === deployment.id) ? list : undefined;
    }, 'the deployment to reach the child');
    expect(deployments.items.map((d) => d.id)).toContain(deployment.id);
    expect(link(await child.api<HierarchyView>('GET', '/hierarchy'), 'MTC').lastError).toBeNull();
  });

  it('certifies a grandchild through the intermediate primary; its link to the primary runs over mutual TLS', async () => {
    const grandchild = await joinHttpsChild(child, 'MTQ', '127.0.0.3', tls);
    try {
      const served = await peerCertificate(grandchild.host, grandchild.port);
      expect(served.subject.CN).toBe('MTQ site server');
      expect(served.issuer.CN).toContain('Steward hierarchy CA MTC');
      await waitUntil(
        async () => link(await child.api<HierarchyView>('GET', '/hierarchy'), 'MTQ').inboundSequence >= 1,
        'the grandchild to send to the primary over mutual TLS',
        60_000,
        250,
      );
      expect(link(await grandchild.api<HierarchyView>('GET', '/hierarchy'), 'MTP').lastError).toBeNull();
    } finally {
      await grandchild.remove();
    }
  }, 240_000);

  it('a secondary site presents its site certificate on its link to the HTTPS primary', async () => {
    const secondary = await joinHttpsChild(child, 'MTS', '127.0.0.4', tls, 'secondary');
    try {
      const certificate = await readFile(siteDataLayout(secondary.dataDir).tlsServerCertificate, 'utf8');
      expect(certificate).toContain('BEGIN CERTIFICATE');
      await waitUntil(
        async () => link(await child.api<HierarchyView>('GET', '/hierarchy'), 'MTS').inboundSequence >= 1,
        'the secondary to send to the primary over mutual TLS',
        60_000,
        250,
      );
    } finally {
      await secondary.remove();
    }
  }, 240_000);

  it('a secondary site started with --tls always serves HTTPS with its site certificate, refuses plain HTTP, and links to the primary', async () => {
    const secondary = await joinHttpsChild(child, 'MTH', '127.0.0.5', tls, 'secondary', 'https');
    try {
      const served = await peerCertificate(secondary.host, secondary.port);
      expect(served.subject.CN).toBe('MTH site server');
      expect(served.subjectaltname).toContain('IP Address:127.0.0.5');
      expect(served.issuer.CN).toContain('Steward hierarchy CA MTC');
      // Validated against the hierarchy CA only (the helper's health check and admin calls).
      expect((await secondary.api<{ code: string }>('GET', '/site')).code).toBe('MTH');
      await expect(fetch(`http://${secondary.host}:${secondary.port}/health`)).rejects.toThrow();
      const runtime = JSON.parse(await readFile(siteDataLayout(secondary.dataDir).runtime, 'utf8')) as {
        url: string;
        transport: string;
      };
      expect(runtime).toMatchObject({ url: secondary.url, transport: 'https' });
      await waitUntil(
        async () => link(await child.api<HierarchyView>('GET', '/hierarchy'), 'MTH').inboundSequence >= 1,
        'the HTTPS secondary to send to the primary over mutual TLS',
        60_000,
        250,
      );

      // Off loopback, --tls never without --insecure-http is refused before anything listens
      // (192.0.2.1, a documentation address no interface here holds).
      await secondary.stop();
      const refused = startSteward(
        [
          'site',
          'start',
          '--data',
          secondary.dataDir,
          '--listen',
          `192.0.2.1:${await freePort()}`,
          '--tls',
          'never',
        ],
        {},
      );
      const exit = await refused.exited;
      expect(exit.code).not.toBe(0);
      expect(refused.stderr()).toContain('--tls never on 192.0.2.1');
      expect(refused.stderr()).toContain('--insecure-http');
    } finally {
      await secondary.remove();
    }
  }, 240_000);

  it('refuses a link connection without a client certificate (ERR_SITE_LINK_PEER)', async () => {
    for (const site of [central, child]) {
      const other = site === central ? 'MTP' : 'MTC';
      const answer = await postMessage(site, claimedMessage(other, site.code), tls);
      expect(answer).toEqual({ status: 403, code: 'ERR_SITE_LINK_PEER' });
    }
  });

  it("refuses an agent's client certificate from the hierarchy CA on a link endpoint", async () => {
    const agent = await issueClientCertificate(ca, { clientId: 'ab'.repeat(32), now: new Date() });
    const options = tlsOptionsFor({ caPem, clientCertPem: agent.certificatePem, clientKeyPem: agent.keyPem });
    for (const site of [central, child]) {
      const other = site === central ? 'MTP' : 'MTC';
      expect(await postMessage(site, claimedMessage(other, site.code), options)).toEqual({
        status: 403,
        code: 'ERR_SITE_LINK_PEER',
      });
    }
  });

  it('refuses the certificate of another site than the one the message claims, then S3 still applies', async () => {
    const mint = async (code: string) => {
      const issued = await issueServerCertificate(ca, {
        commonName: `${code} site server`,
        ipAddresses: ['127.0.0.9'],
        clientAuth: true,
        now: new Date(),
      });
      return tlsOptionsFor({ caPem, clientCertPem: issued.certificatePem, clientKeyPem: issued.keyPem });
    };
    const wrongSite = await postMessage(central, claimedMessage('MTP', 'MTC'), await mint('ZZZ'));
    expect(wrongSite).toEqual({ status: 403, code: 'ERR_SITE_LINK_PEER' });
    // The right site's certificate passes the TLS check; the forged signature is still refused (S3).
    const rightSite = await postMessage(central, claimedMessage('MTP', 'MTC'), await mint('MTP'));
    expect(rightSite.status).toBeGreaterThanOrEqual(400);
    expect(rightSite.code).not.toBe('ERR_SITE_LINK_PEER');
    expect(['ERR_UNKNOWN_KEY', 'ERR_SIGNATURE_INVALID']).toContain(rightSite.code);
  });

  it("renews the child's certificate through its parent link before expiry, without interrupting the link", async () => {
    const before = await peerCertificate(child.host, child.port);
    const renewed = await waitUntil(
      async () => {
        const now = await peerCertificate(child.host, child.port);
        return now.serialNumber !== before.serialNumber ? now : undefined;
      },
      "the child's site server certificate to be renewed",
      150_000,
      1000,
    );
    expect(renewed.subject.CN).toBe('MTP site server');
    expect(Date.parse(renewed.valid_to)).toBeGreaterThan(Date.parse(before.valid_to));
    expect(renewed.pubkey?.toString('hex')).toBe(before.pubkey?.toString('hex'));
    // The link still carries traffic both ways over the renewed certificate.
    const collection = await central.api<{ id: string }>('POST', '/collections', {
      name: 'after renewal',
      rule: null,
      clientIds: [],
    });
    await waitUntil(async () => {
      const list = await child.api<{ items: { id: string }[] }>('GET', '/collections');
      return list.items.some((c) => c.id === collection.id);
    }, 'a collection created after renewal to reach the child');
    const view = await child.api<HierarchyView>('GET', '/hierarchy');
    expect(link(view, 'MTC').lastError).toBeNull();
  }, 200_000);
});
