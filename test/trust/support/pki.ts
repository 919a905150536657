/**
 * Test PKI builder for the trust core: fixed keys from fixed seeds, a fixed "now", valid sample
 * payloads of every kind, and a small hierarchy (root, site, MP, client) with signed documents.
 */
import {
  createRootDocument,
  issueMpCertificate,
  issueSiteCertificate,
  sha256Hex,
  SigningKey,
  trustRootFromPin,
  type DocumentInput,
  type DocumentKind,
  type PayloadInputOf,
  type SignedDocument,
  type TrustedRoot,
} from '../../../src/trust/index.js';

/** The fixed "now" of the trust tests. */
export const now = new Date('2026-01-01T00:00:00.000Z');

/** ISO time `days` after now (negative: before). */
export function daysFromNow(days: number): string {
  return new Date(now.getTime() + days * 86_400_000).toISOString();
}

/** ISO time `minutes` after now (negative: before). */
export function minutesFromNow(minutes: number): string {
  return new Date(now.getTime() + minutes * 60_000).toISOString();
}

/** A fixed Ed25519 key: seed = SHA-256("steward-test-key:" + label). */
export function seededKey(label: string): SigningKey {
  return SigningKey.fromSeed(Buffer.from(sha256Hex(`steward-test-key:${label}`), 'hex'));
}

/** The RFC 8032 section 7.1 TEST 1 secret key (seed). */
export const rfc8032Seed = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';

const clientKey = seededKey('client');
const siteKey = seededKey('site');
const mpKey = seededKey('mp');

/** Valid inputs of every document kind (fixed keys and times). */
export function samplePayload<K extends DocumentKind>(kind: K): PayloadInputOf<K> {
  return samples[kind];
}

const validity = { issuedAt: daysFromNow(-1), expiresAt: daysFromNow(30) };

const samples: { [K in DocumentKind]: PayloadInputOf<K> } = {
  root: { kind: 'root', version: 1, ...validity, threshold: 1, keys: [seededKey('root-1').publicRecord()] },
  'site-certificate': {
    kind: 'site-certificate',
    version: 1,
    siteCode: 'ABC',
    siteName: 'Head office',
    siteKey: siteKey.publicRecord(),
    parentSiteCode: null,
    siteType: 'central',
    ...validity,
  },
  'mp-certificate': {
    kind: 'mp-certificate',
    version: 1,
    mpName: 'mp1.example.test',
    siteCode: 'ABC',
    urls: ['https://mp1.example.test:8443/'],
    mpKey: mpKey.publicRecord(),
    ...validity,
  },
  'policy-body': {
    kind: 'policy-body',
    version: 1,
    policyId: 'ABC00001',
    siteCode: 'ABC',
    deploymentId: 'ABC-D-1',
    package: { packageId: 'ABC-P-1', version: '1.0.0', manifestHash: sha256Hex('manifest') },
    program: {
      name: 'Install',
      commandLine: 'sh install.sh --quiet',
      workingDirectory: '.',
      environment: { MODE: 'quiet' },
      timeLimitSeconds: 600,
      elevated: true,
      successExitCodes: [0, 3010],
    },
    schedule: { availableAt: daysFromNow(-1), mandatoryAt: daysFromNow(2), expiresAt: null },
    rerun: 'if-failed',
    contentUrls: ['https://dp1.example.test/content/'],
    ...validity,
  },
  'policy-assignments': {
    kind: 'policy-assignments',
    sequence: 7,
    clientId: clientKey.keyId,
    siteCode: 'ABC',
    mpName: 'mp1.example.test',
    assignments: [{ policyId: 'ABC00001', version: 1, hash: sha256Hex('body') }],
    ...validity,
  },
  'content-manifest': {
    kind: 'content-manifest',
    version: 1,
    packageId: 'ABC-P-1',
    packageVersion: '1.0.0',
    siteCode: 'ABC',
    files: [
      { path: 'install.sh', size: 5, sha256: sha256Hex('hello') },
      { path: 'payload/data.bin', size: 0, sha256: sha256Hex('') },
    ],
    totalSize: 5,
    ...validity,
  },
  'client-registration': {
    kind: 'client-registration',
    version: 1,
    clientKey: clientKey.publicRecord(),
    siteCode: 'ABC',
    hostname: 'ws-0001.example.test',
    addresses: ['192.0.2.10', '2001:db8::10'],
    mode: 'secure',
    rootSource: 'pinned',
    enrolmentToken: null,
    nonce: 'AAAAAAAAAAAAAAAAAAAAAA',
    ...validity,
  },
  'client-report': {
    kind: 'client-report',
    sequence: 1,
    messageId: 'm-0001',
    clientId: clientKey.keyId,
    siteCode: 'ABC',
    reportType: 'heartbeat',
    body: { uptimeSeconds: 12, tags: ['a'], nested: { ok: true } },
    ...validity,
  },
  'site-message': {
    kind: 'site-message',
    sequence: 1,
    fromSite: 'CHI',
    toSite: 'ABC',
    records: [{ recordId: 'r-1', type: 'status', body: { count: 1 } }],
    ...validity,
  },
  'locator-answer': {
    kind: 'locator-answer',
    version: 1,
    siteCode: 'ABC',
    boundary: '192.0.2.0/24',
    managementPoints: [{ name: 'mp1.example.test', urls: ['https://mp1.example.test:8443/'] }],
    issuedAt: minutesFromNow(-1),
    expiresAt: minutesFromNow(14),
  },
  'tls-ca': {
    kind: 'tls-ca',
    version: 1,
    caCertificateSha256: sha256Hex('ca certificate'),
    subjectPublicKeySha256: sha256Hex('ca public key'),
    siteCode: 'ABC',
    ...validity,
  },
  'tls-client-request': {
    kind: 'tls-client-request',
    version: 1,
    clientId: clientKey.keyId,
    siteCode: 'ABC',
    tlsPublicKey:
      'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEWyLkWs6u6E9Hf29BAts34Y55XaISHRGAIIYeyMAEdDOFdfeigr6UnFpR/9dndDq8YixFGKjbJa5PxgK7hAyefw==',
    nonce: 'AAAAAAAAAAAAAAAAAAAAAA',
    issuedAt: minutesFromNow(-1),
    expiresAt: minutesFromNow(9),
  },
  'site-system-request': {
    kind: 'site-system-request',
    version: 1,
    siteCode: 'ABC',
    role: 'distribution-point',
    systemName: 'ABC-DP2',
    method: 'POST',
    path: '/site-systems/v1/status',
    bodySha256: '0'.repeat(64),
    nonce: 'AAAAAAAAAAAAAAAAAAAAAA',
    issuedAt: minutesFromNow(-1),
    expiresAt: minutesFromNow(3),
  },
};

/** A payload of a kind with some fields replaced (for negative tests). */
export function withFields(kind: DocumentKind, changes: Record<string, unknown>): DocumentInput {
  return { ...samplePayload(kind), ...changes };
}

/** A one-level hierarchy: root (1 key), central site ABC with a site key, one MP, one client. */
export type TestPki = {
  rootKey: SigningKey;
  rootDocument: SignedDocument;
  root: TrustedRoot;
  siteKey: SigningKey;
  siteCertificate: SignedDocument;
  mpKey: SigningKey;
  mpCertificate: SignedDocument;
  clientKey: SigningKey;
};

export function buildPki(label = 'pki'): TestPki {
  const rootKey = seededKey(`${label}-root`);
  const rootDocument = createRootDocument(
    { version: 1, keys: [rootKey], threshold: 1, issuedAt: daysFromNow(-10), expiresAt: daysFromNow(365) },
    [rootKey],
  );
  const root = trustRootFromPin([rootDocument.encoded], rootKey.fingerprint, now);
  const { kind: _site, ...siteFields } = samplePayload('site-certificate');
  const siteCertificate = issueSiteCertificate(siteFields, [rootKey]);
  const { kind: _mp, ...mpFields } = samplePayload('mp-certificate');
  const mpCertificate = issueMpCertificate(mpFields, [rootKey]);
  return { rootKey, rootDocument, root, siteKey, siteCertificate, mpKey, mpCertificate, clientKey };
}
