/**
 * Client certificates for approved agents (docs/tls.md): the `tls-client-request` is signed by the
 * registered client key and names an ECDSA P-256 key; the site certifies that public key only,
 * for that client (CN = client id, clientAuth).
 */
import { describe, expect, it } from 'vitest';
import {
  describeCertificate,
  isIssuedBy,
  randomToken,
  signDocument,
  SigningKey,
  TlsKey,
  verifyTlsClientRequest,
} from '../../src/trust/index.js';
import { certifyClientPublicKey, createHierarchyCa } from '../../src/trust/tls/index.js';

const now = new Date();
const clientKey = SigningKey.generate();

function request(changes: Record<string, unknown> = {}, signer: SigningKey = clientKey) {
  const tlsKey = TlsKey.generate();
  const signed = signDocument(
    {
      kind: 'tls-client-request',
      version: 1,
      clientId: clientKey.keyId,
      siteCode: 'ABC',
      tlsPublicKey: Buffer.from(tlsKey.publicKeyDer()).toString('base64'),
      nonce: randomToken(16),
      issuedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + 10 * 60_000).toISOString(),
      ...changes,
    },
    [signer],
  );
  return { tlsKey, encoded: signed.encoded };
}

function codeOf(work: () => unknown): string {
  try {
    work();
    return 'accepted';
  } catch (error) {
    return (error as { code?: string }).code ?? 'no code';
  }
}

describe('tls-client-request', () => {
  it('verifies against the registered client key and yields the P-256 key to certify', () => {
    const { tlsKey, encoded } = request();
    const verified = verifyTlsClientRequest(encoded, clientKey.verifyingKey(), now);
    expect(verified.payload.clientId).toBe(clientKey.keyId);
    expect(verified.tlsPublicKeySha256).toBe(tlsKey.publicKeySha256);
  });

  it('refuses another signer, another client id, a key that is not P-256, a long validity', () => {
    expect(
      codeOf(() =>
        verifyTlsClientRequest(request({}, SigningKey.generate()).encoded, clientKey.verifyingKey(), now),
      ),
    ).toBe('ERR_UNKNOWN_KEY');
    const other = SigningKey.generate();
    expect(
      codeOf(() =>
        verifyTlsClientRequest(request({ clientId: other.keyId }).encoded, clientKey.verifyingKey(), now),
      ),
    ).toBe('ERR_PAYLOAD_INVALID');
    // An Ed25519 SubjectPublicKeyInfo: the algorithm prefix, then the 32-byte key.
    const ed25519Spki = Buffer.concat([
      Buffer.from('302a300506032b6570032100', 'hex'),
      Buffer.from(clientKey.publicRecord().publicKey, 'base64'),
    ]).toString('base64');
    expect(
      codeOf(() =>
        verifyTlsClientRequest(request({ tlsPublicKey: ed25519Spki }).encoded, clientKey.verifyingKey(), now),
      ),
    ).toBe('ERR_PAYLOAD_INVALID');
    expect(codeOf(() => request({ expiresAt: new Date(now.getTime() + 2 * 3600_000).toISOString() }))).toBe(
      'ERR_PAYLOAD_INVALID',
    );
    const expired = request({
      issuedAt: new Date(now.getTime() - 3600_000).toISOString(),
      expiresAt: new Date(now.getTime() - 1800_000).toISOString(),
    });
    expect(codeOf(() => verifyTlsClientRequest(expired.encoded, clientKey.verifyingKey(), now))).toBe(
      'ERR_EXPIRED',
    );
  });

  it('is certified for that public key only: CN = client id, clientAuth, from the CA', async () => {
    const ca = await createHierarchyCa({ rootSigners: [SigningKey.generate()], siteCode: 'ABC', now });
    const { tlsKey, encoded } = request();
    const verified = verifyTlsClientRequest(encoded, clientKey.verifyingKey(), now);
    const issued = await certifyClientPublicKey(ca, {
      clientId: clientKey.keyId,
      publicKey: verified.tlsPublicKey,
      now,
      validityDays: 30,
    });
    const summary = describeCertificate(issued.certificatePem);
    expect(summary.subject).toBe(`CN=${clientKey.keyId}`);
    expect(summary.publicKeySha256).toBe(tlsKey.publicKeySha256);
    expect(summary.extendedKeyUsages).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(summary.serialHex).toBe(issued.serialHex);
    expect(isIssuedBy(issued.certificatePem, ca.caCertificatePem)).toBe(true);
  });
});
