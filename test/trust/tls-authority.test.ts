/**
 * The hierarchy TLS CA (docs/tls.md): the root's `tls-ca` endorsement (C1, C2), issuance of server
 * and client certificates, renewal, and TLS key files at rest.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SigningKey, writeKeyFile, type StewardError } from '../../src/trust/index.js';
import {
  certificateNeedsRenewal,
  createHierarchyCa,
  describeCertificate,
  endorseHierarchyCa,
  issueClientCertificate,
  issueServerCertificate,
  isIssuedBy,
  openCertificateAuthority,
  readTlsKeyFile,
  TlsKey,
  tlsOptionsFor,
  verifyCaEndorsement,
  writeTlsKeyFile,
  type HierarchyCa,
} from '../../src/trust/tls/index.js';
import { buildPki, now } from './support/pki.js';

const pki = buildPki('tls');
const otherPki = buildPki('tls-other');
const day = 86_400_000;
const serverAuth = '1.3.6.1.5.5.7.3.1';
const clientAuth = '1.3.6.1.5.5.7.3.2';

function codeOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    return (error as StewardError).code;
  }
  return 'accepted';
}

async function asyncCodeOf(action: () => Promise<unknown>): Promise<string> {
  try {
    await action();
  } catch (error) {
    return (error as StewardError).code;
  }
  return 'accepted';
}

let ca: HierarchyCa;
let otherCa: HierarchyCa;
let folder: string;

beforeAll(async () => {
  ca = await createHierarchyCa({ rootSigners: [pki.rootKey], siteCode: 'ABC', now, validityDays: 100 });
  otherCa = await createHierarchyCa({ rootSigners: [otherPki.rootKey], siteCode: 'ABC', now });
  folder = await mkdtemp(join(tmpdir(), 'steward-tls-'));
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe('hierarchy CA endorsement', () => {
  it('C1 C2 a CA endorsed by the root verifies', () => {
    const verified = verifyCaEndorsement(ca.endorsement.encoded, ca.caCertificatePem, pki.root, now);
    expect(verified.payload).toMatchObject({ kind: 'tls-ca', version: 1, siteCode: 'ABC' });
    expect(verified.payload.issuedAt).toBe(now.toISOString());
    expect(verified.hash).toBe(ca.endorsement.hash);
    expect(verified.payload.expiresAt).toBe(describeCertificate(ca.caCertificatePem).notAfter.toISOString());
    expect(verifyCaEndorsement(ca.endorsement.envelope, ca.caCertificatePem, pki.root, now).hash).toBe(
      verified.hash,
    );
  });

  it('the CA certificate is a self-signed P-256 CA limited to end-entity certificates', () => {
    const certificate = describeCertificate(ca.caCertificatePem);
    expect(certificate.isCa).toBe(true);
    expect(certificate.subject).toContain('CN=Steward hierarchy CA ABC 1');
    expect(certificate.issuer).toBe(certificate.subject);
    expect(isIssuedBy(ca.caCertificatePem, ca.caCertificatePem)).toBe(true);
    expect(certificate.publicKeySha256).toBe(ca.caKey.publicKeySha256);
    expect(certificate.notAfter.getTime() - certificate.notBefore.getTime()).toBe(100 * day + 5 * 60_000);
  });

  it('C2 refuses a CA endorsed by another root (ERR_UNKNOWN_KEY)', () => {
    expect(
      codeOf(() => verifyCaEndorsement(otherCa.endorsement.encoded, otherCa.caCertificatePem, pki.root, now)),
    ).toBe('ERR_UNKNOWN_KEY');
  });

  it('refuses another CA certificate under a valid endorsement (ERR_TLS_CA_MISMATCH)', () => {
    expect(
      codeOf(() => verifyCaEndorsement(ca.endorsement.encoded, otherCa.caCertificatePem, pki.root, now)),
    ).toBe('ERR_TLS_CA_MISMATCH');
  });

  it('refuses an expired endorsement (ERR_EXPIRED) and one issued in the future (ERR_NOT_YET_VALID)', () => {
    const later = new Date(now.getTime() + 101 * day);
    expect(
      codeOf(() => verifyCaEndorsement(ca.endorsement.encoded, ca.caCertificatePem, pki.root, later)),
    ).toBe('ERR_EXPIRED');
    const earlier = new Date(now.getTime() - day);
    expect(
      codeOf(() => verifyCaEndorsement(ca.endorsement.encoded, ca.caCertificatePem, pki.root, earlier)),
    ).toBe('ERR_NOT_YET_VALID');
  });

  it('refuses an endorsement for another site when a site is expected (ERR_CERTIFICATE_SITE_MISMATCH)', () => {
    const check = () =>
      verifyCaEndorsement(ca.endorsement.encoded, ca.caCertificatePem, pki.root, now, {
        expectedSiteCode: 'XYZ',
      });
    expect(codeOf(check)).toBe('ERR_CERTIFICATE_SITE_MISMATCH');
  });

  it('refuses a tampered endorsement (ERR_SIGNATURE_INVALID)', () => {
    const envelope = structuredClone(ca.endorsement.envelope);
    const payload = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as Record<
      string,
      unknown
    >;
    payload['siteCode'] = 'XYZ';
    envelope.payload = Buffer.from(JSON.stringify(payload)).toString('base64');
    expect(codeOf(() => verifyCaEndorsement(envelope, ca.caCertificatePem, pki.root, now))).toBe(
      'ERR_SIGNATURE_INVALID',
    );
  });

  it('refuses to endorse or trust a certificate that is not a CA, or a PEM of two (ERR_TLS_CERTIFICATE_INVALID)', async () => {
    const leaf = await issueServerCertificate(ca, { commonName: 'mp1', dnsNames: ['mp1.example.test'], now });
    expect(
      codeOf(() =>
        endorseHierarchyCa(leaf.certificatePem, { rootSigners: [pki.rootKey], siteCode: 'ABC', now }),
      ),
    ).toBe('ERR_TLS_CERTIFICATE_INVALID');
    const bundle = ca.caCertificatePem + otherCa.caCertificatePem;
    expect(codeOf(() => verifyCaEndorsement(ca.endorsement.encoded, bundle, pki.root, now))).toBe(
      'ERR_TLS_CERTIFICATE_INVALID',
    );
    expect(codeOf(() => verifyCaEndorsement(ca.endorsement.encoded, 'not a pem', pki.root, now))).toBe(
      'ERR_TLS_CERTIFICATE_INVALID',
    );
  });

  it('a replacement CA takes a higher version', async () => {
    const next = await createHierarchyCa({ rootSigners: [pki.rootKey], siteCode: 'ABC', now, version: 2 });
    const verified = verifyCaEndorsement(next.endorsement.encoded, next.caCertificatePem, pki.root, now);
    expect(verified.payload.version).toBe(2);
    expect(describeCertificate(next.caCertificatePem).subject).toContain('CN=Steward hierarchy CA ABC 2');
  });
});

describe('certificate issuance', () => {
  it('issues a server certificate naming every DNS name and address, for serverAuth', async () => {
    const issued = await issueServerCertificate(ca, {
      commonName: 'mp1.example.test',
      dnsNames: ['MP1.example.test', 'mp1'],
      ipAddresses: ['192.0.2.10', '2001:db8::10'],
      validityDays: 30,
      now,
    });
    const certificate = describeCertificate(issued.certificatePem);
    expect(certificate.subject).toBe('CN=mp1.example.test');
    expect(certificate.isCa).toBe(false);
    expect(isIssuedBy(issued.certificatePem, ca.caCertificatePem)).toBe(true);
    expect(isIssuedBy(issued.certificatePem, otherCa.caCertificatePem)).toBe(false);
    expect(certificate.subjectAltName).toBe(
      'DNS:mp1.example.test, DNS:mp1, IP Address:192.0.2.10, IP Address:2001:DB8:0:0:0:0:0:10',
    );
    expect(certificate.extendedKeyUsages).toEqual([serverAuth]);
    expect(certificate.serialHex).toBe(issued.serialHex);
    expect(issued.notAfter.getTime() - now.getTime()).toBe(30 * day);
    expect(TlsKey.fromPem(issued.keyPem).publicKeySha256).toBe(issued.key.publicKeySha256);
    expect(certificate.publicKeySha256).toBe(issued.key.publicKeySha256);
  });

  it('a site server certificate may also serve as a TLS client (site-to-site mutual TLS)', async () => {
    const issued = await issueServerCertificate(ca, {
      commonName: 'site-abc',
      dnsNames: ['site.example.test'],
      clientAuth: true,
      now,
    });
    expect(describeCertificate(issued.certificatePem).extendedKeyUsages).toEqual([serverAuth, clientAuth]);
  });

  it('issues a client certificate with CN = client id, for clientAuth only', async () => {
    const clientId = SigningKey.generate().keyId;
    const issued = await issueClientCertificate(ca, { clientId, validityDays: 10, now });
    const certificate = describeCertificate(issued.certificatePem);
    expect(certificate.subject).toBe(`CN=${clientId}`);
    expect(certificate.extendedKeyUsages).toEqual([clientAuth]);
    expect(certificate.subjectAltName).toBeUndefined();
    expect(isIssuedBy(issued.certificatePem, ca.caCertificatePem)).toBe(true);
  });

  it('never issues past the CA certificate, and refuses once the CA has expired', async () => {
    const shortCa = await createHierarchyCa({
      rootSigners: [pki.rootKey],
      siteCode: 'ABC',
      now,
      validityDays: 10,
    });
    const issued = await issueServerCertificate(shortCa, {
      commonName: 'dp1',
      dnsNames: ['dp1'],
      validityDays: 90,
      now,
    });
    expect(issued.notAfter.getTime()).toBe(now.getTime() + 10 * day);
    const later = new Date(now.getTime() + 11 * day);
    expect(await asyncCodeOf(() => issueClientCertificate(shortCa, { clientId: 'c1', now: later }))).toBe(
      'ERR_TLS_CERTIFICATE_INVALID',
    );
  });

  it('refuses names and validity it cannot honour (ERR_PAYLOAD_INVALID)', async () => {
    const issue = (changes: object) =>
      asyncCodeOf(() =>
        issueServerCertificate(ca, { commonName: 'mp1', dnsNames: ['mp1'], now, ...changes }),
      );
    expect(await issue({ dnsNames: ['bad name'] })).toBe('ERR_PAYLOAD_INVALID');
    expect(await issue({ dnsNames: ['-bad.example'] })).toBe('ERR_PAYLOAD_INVALID');
    expect(await issue({ ipAddresses: ['300.1.1.1'] })).toBe('ERR_PAYLOAD_INVALID');
    expect(await issue({ dnsNames: [], ipAddresses: [] })).toBe('ERR_PAYLOAD_INVALID');
    expect(await issue({ commonName: 'CN=evil, O=x' })).toBe('ERR_PAYLOAD_INVALID');
    expect(await issue({ validityDays: 0 })).toBe('ERR_PAYLOAD_INVALID');
    expect(await issue({ validityDays: 399 })).toBe('ERR_PAYLOAD_INVALID');
    expect(await issue({ validityDays: Number.NaN })).toBe('ERR_PAYLOAD_INVALID');
    expect(await issue({ dnsNames: ['*.example.test'] })).toBe('accepted');
  });

  it('opens a CA only with its own key (ERR_TLS_CERTIFICATE_INVALID)', () => {
    expect(openCertificateAuthority(ca.caCertificatePem, ca.caKey).caKey).toBe(ca.caKey);
    expect(codeOf(() => openCertificateAuthority(ca.caCertificatePem, otherCa.caKey))).toBe(
      'ERR_TLS_CERTIFICATE_INVALID',
    );
  });
});

describe('renewal', () => {
  it('a certificate needs renewal once less than a quarter of its validity remains', async () => {
    const issued = await issueServerCertificate(ca, {
      commonName: 'mp1',
      dnsNames: ['mp1'],
      validityDays: 40,
      now,
    });
    const total = issued.notAfter.getTime() - issued.notBefore.getTime();
    const threshold = issued.notAfter.getTime() - total / 4;
    expect(certificateNeedsRenewal(issued.certificatePem, now)).toBe(false);
    expect(certificateNeedsRenewal(issued.certificatePem, new Date(threshold - 1000))).toBe(false);
    expect(certificateNeedsRenewal(issued.certificatePem, new Date(threshold + 1000))).toBe(true);
    expect(certificateNeedsRenewal(issued.certificatePem, new Date(issued.notAfter.getTime() + day))).toBe(
      true,
    );
    expect(certificateNeedsRenewal(issued.certificatePem, new Date(threshold - 1000), 0.5)).toBe(true);
  });

  it('a short-lived certificate (one hour) is due 15 minutes before it expires', async () => {
    const issued = await issueClientCertificate(ca, { clientId: 'c1', validityDays: 1 / 24, now });
    expect(issued.notAfter.getTime() - now.getTime()).toBe(3_600_000);
    expect(certificateNeedsRenewal(issued.certificatePem, new Date(now.getTime() + 40 * 60_000))).toBe(false);
    expect(certificateNeedsRenewal(issued.certificatePem, new Date(now.getTime() + 50 * 60_000))).toBe(true);
  });

  it('refuses an unreadable certificate (ERR_TLS_CERTIFICATE_INVALID)', () => {
    expect(
      codeOf(() =>
        certificateNeedsRenewal('-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----', now),
      ),
    ).toBe('ERR_TLS_CERTIFICATE_INVALID');
  });
});

describe('TLS keys at rest', () => {
  const fast = { cost: { N: 1024, r: 8, p: 1 } };
  const passphrase = { passphrase: 'the quick brown fox' };

  it('round-trips the CA key encrypted, mode 0600, and the file holds no plain key', async () => {
    const path = join(folder, 'ca.tlskey');
    await writeTlsKeyFile(path, ca.caKey, passphrase, fast);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const text = await readFile(path, 'utf8');
    const file = JSON.parse(text) as Record<string, unknown>;
    expect(file['format']).toBe('steward-tls-key/v1');
    expect(file['publicKeySha256']).toBe(ca.caKey.publicKeySha256);
    expect(text).not.toContain('PRIVATE KEY');
    const read = await readTlsKeyFile(path, passphrase);
    expect(read.publicKeySha256).toBe(ca.caKey.publicKeySha256);
    const reopened = openCertificateAuthority(ca.caCertificatePem, read);
    const issued = await issueClientCertificate(reopened, { clientId: 'c2', now });
    expect(isIssuedBy(issued.certificatePem, ca.caCertificatePem)).toBe(true);
  });

  it('refuses a wrong passphrase (ERR_KEY_PASSPHRASE) and an Ed25519 key file (ERR_KEY_FILE)', async () => {
    const path = join(folder, 'wrong.tlskey');
    await writeTlsKeyFile(path, ca.caKey, passphrase, fast);
    expect(await asyncCodeOf(() => readTlsKeyFile(path, { passphrase: 'another passphrase' }))).toBe(
      'ERR_KEY_PASSPHRASE',
    );
    const signingPath = join(folder, 'signing.key');
    await writeKeyFile(signingPath, SigningKey.generate(), passphrase, fast);
    expect(await asyncCodeOf(() => readTlsKeyFile(signingPath, passphrase))).toBe('ERR_KEY_FILE');
    expect(await asyncCodeOf(() => readTlsKeyFile(join(folder, 'missing.tlskey'), passphrase))).toBe(
      'ERR_KEY_FILE',
    );
  });

  it('a TlsKey shows only the hash of its public key', () => {
    const key = TlsKey.generate();
    const shown = [JSON.stringify(key), String(key), inspect(key)].join('\n');
    expect(shown).toContain(key.publicKeySha256.slice(0, 32));
    expect(shown).not.toMatch(/PRIVATE|BEGIN/);
    expect(codeOf(() => TlsKey.fromPem('-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----'))).toBe(
      'ERR_TLS_CERTIFICATE_INVALID',
    );
  });
});

describe('client TLS options', () => {
  it('trust only the given CA, with the client certificate when one is given', async () => {
    const client = await issueClientCertificate(ca, { clientId: 'c3', now });
    const options = tlsOptionsFor({
      caPem: ca.caCertificatePem,
      clientCertPem: client.certificatePem,
      clientKeyPem: client.keyPem,
    });
    expect(options.ca).toHaveLength(1);
    expect(options.rejectUnauthorized).toBe(true);
    expect(options.cert).toBe(client.certificatePem);
    expect(Object.isFrozen(options)).toBe(true);
    expect(tlsOptionsFor({ caPem: [ca.caCertificatePem, otherCa.caCertificatePem] }).ca).toHaveLength(2);
    expect(tlsOptionsFor({ caPem: ca.caCertificatePem, serverName: 'mp1.example.test' }).servername).toBe(
      'mp1.example.test',
    );
    expect(tlsOptionsFor({ caPem: ca.caCertificatePem, serverName: '127.0.0.1' }).servername).toBeUndefined();
  });

  it('refuse a leaf as CA, a certificate without its key, and a key of another certificate', async () => {
    const client = await issueClientCertificate(ca, { clientId: 'c4', now });
    const other = await issueClientCertificate(ca, { clientId: 'c5', now });
    expect(codeOf(() => tlsOptionsFor({ caPem: client.certificatePem }))).toBe('ERR_TLS_CERTIFICATE_INVALID');
    expect(codeOf(() => tlsOptionsFor({ caPem: [] }))).toBe('ERR_TLS_CERTIFICATE_INVALID');
    expect(
      codeOf(() => tlsOptionsFor({ caPem: ca.caCertificatePem, clientCertPem: client.certificatePem })),
    ).toBe('ERR_TLS_CERTIFICATE_INVALID');
    expect(
      codeOf(() =>
        tlsOptionsFor({
          caPem: ca.caCertificatePem,
          clientCertPem: client.certificatePem,
          clientKeyPem: other.keyPem,
        }),
      ),
    ).toBe('ERR_TLS_CERTIFICATE_INVALID');
  });
});
