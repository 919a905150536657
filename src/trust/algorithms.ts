/**
 * The one table of algorithms Steward uses (DESIGN.md section 2). Every other file of the trust core
 * takes its algorithm names and sizes from here, so a change of algorithm is a change of one row.
 */
export const algorithms = {
  /** Signatures: Ed25519 (RFC 8032), raw 32-byte public keys, 64-byte signatures. */
  signature: {
    name: 'ed25519',
    publicKeyBytes: 32,
    signatureBytes: 64,
    seedBytes: 32,
    /** DER SubjectPublicKeyInfo header for a raw Ed25519 public key (RFC 8410). */
    spkiPrefix: Buffer.from('302a300506032b6570032100', 'hex'),
    /** DER PKCS#8 header for a raw 32-byte Ed25519 seed (RFC 8410). */
    pkcs8SeedPrefix: Buffer.from('302e020100300506032b657004220420', 'hex'),
  },
  /** Hashes and key ids: SHA-256, lowercase hex. */
  digest: { name: 'sha256', bytes: 32, hexLength: 64 },
  /** Message authentication with a shared secret (site join proofs): HMAC-SHA-256 (RFC 2104). */
  mac: { name: 'hmac', hash: 'sha256', bytes: 32 },
  /** Password and key-file key derivation: scrypt (RFC 7914). */
  kdf: {
    name: 'scrypt',
    keyBytes: 32,
    saltBytes: 16,
    defaultCost: { N: 2 ** 15, r: 8, p: 1 },
    /** C6: parameters read from a file or a stored hash are refused above these. */
    maxCost: { N: 2 ** 20, r: 32, p: 16 },
  },
  /** Key files at rest: AES-256-GCM with a 96-bit nonce and 128-bit tag. */
  cipher: { name: 'aes-256-gcm', keyBytes: 32, ivBytes: 12, tagBytes: 16 },
  /**
   * TLS certificates (docs/tls.md): ECDSA P-256 keys with SHA-256 signatures, which every browser
   * accepts; TLS 1.2 at least. `namedCurve` is OpenSSL's name, `webCrypto` the WebCrypto parameters.
   */
  certificate: {
    keyType: 'ec',
    namedCurve: 'prime256v1',
    webCrypto: { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' },
    minTlsVersion: 'TLSv1.2',
    serialBytes: 16,
  },
} as const;

/** scrypt cost parameters. */
export type ScryptCost = { readonly N: number; readonly r: number; readonly p: number };

/** True when the cost is a power-of-two N and small positive r, p within the C6 caps. */
export function isAcceptableScryptCost(cost: ScryptCost): boolean {
  const { maxCost } = algorithms.kdf;
  return (
    Number.isSafeInteger(cost.N) &&
    cost.N >= 2 &&
    cost.N <= maxCost.N &&
    (cost.N & (cost.N - 1)) === 0 &&
    Number.isSafeInteger(cost.r) &&
    cost.r >= 1 &&
    cost.r <= maxCost.r &&
    Number.isSafeInteger(cost.p) &&
    cost.p >= 1 &&
    cost.p <= maxCost.p
  );
}

/** Memory scrypt needs for a cost, with headroom (node refuses at exactly 128 * N * r). */
export function scryptMaxmem(cost: ScryptCost): number {
  return 128 * cost.N * cost.r * 2 + 128 * cost.r * cost.p + 1024 * 1024;
}
