/**
 * ECDSA P-256 private keys for TLS certificates (docs/tls.md). A TlsKey wraps a node KeyObject; its
 * private half never appears in toString, JSON or util.inspect output, only the SHA-256 of its public
 * key does. The PEM and PKCS#8 exports exist for node's TLS context and for TLS key files alone.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { inspect } from 'node:util';
import { algorithms } from '../algorithms.js';
import { sha256Hex } from '../digest.js';
import { TlsCertificateInvalidError } from './tls-errors.js';

/** A public key to certify (node's key object), for callers outside the trust core. */
export type TlsPublicKey = KeyObject;

/** C6: a PEM private key longer than this is refused before it is parsed. */
export const maxTlsKeyPemBytes = 16 * 1024;

const privateKeys = new WeakMap<TlsKey, KeyObject>();

/** True when a key object is an EC key on the certificate curve (P-256). */
export function isCertificateCurve(key: KeyObject): boolean {
  return (
    key.asymmetricKeyType === algorithms.certificate.keyType &&
    key.asymmetricKeyDetails?.namedCurve === algorithms.certificate.namedCurve
  );
}

/** SubjectPublicKeyInfo DER of a public key object. */
export function spkiDer(publicKey: KeyObject): Uint8Array {
  return new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
}

/** An ECDSA P-256 private key. Only the public half and its hash are observable. */
export class TlsKey {
  /** Lowercase hex SHA-256 of the public key's SubjectPublicKeyInfo DER. */
  readonly publicKeySha256: string;
  readonly #publicKey: KeyObject;

  private constructor(privateKey: KeyObject) {
    if (!isCertificateCurve(privateKey)) {
      throw new TlsCertificateInvalidError('The TLS private key is not an ECDSA P-256 key.');
    }
    this.#publicKey = createPublicKey(privateKey);
    this.publicKeySha256 = sha256Hex(spkiDer(this.#publicKey));
    privateKeys.set(this, privateKey);
  }

  /** A new random P-256 key. */
  static generate(): TlsKey {
    const { privateKey } = generateKeyPairSync(algorithms.certificate.keyType, {
      namedCurve: algorithms.certificate.namedCurve,
    });
    return new TlsKey(privateKey);
  }

  /** A key from PEM (PKCS#8 or SEC 1 `EC PRIVATE KEY`, unencrypted). */
  static fromPem(pem: string): TlsKey {
    if (Buffer.byteLength(pem, 'utf8') > maxTlsKeyPemBytes) {
      throw new TlsCertificateInvalidError(`A TLS private key PEM is limited to ${maxTlsKeyPemBytes} bytes.`);
    }
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey({ key: pem, format: 'pem' });
    } catch (cause) {
      throw new TlsCertificateInvalidError('The TLS private key is not an unencrypted PEM private key.', {
        cause,
      });
    }
    return new TlsKey(privateKey);
  }

  /** A key from PKCS#8 DER (TLS key files). */
  static fromPkcs8(der: Uint8Array): TlsKey {
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
    } catch (cause) {
      throw new TlsCertificateInvalidError('The TLS private key is not valid PKCS#8 DER.', { cause });
    }
    return new TlsKey(privateKey);
  }

  /** The public key object (for matching against a certificate). */
  publicKey(): KeyObject {
    return this.#publicKey;
  }

  /** SubjectPublicKeyInfo DER of the public half. */
  publicKeyDer(): Uint8Array {
    return spkiDer(this.#publicKey);
  }

  toJSON(): { publicKeySha256: string } {
    return { publicKeySha256: this.publicKeySha256 };
  }

  toString(): string {
    return `TlsKey(sha256:${this.publicKeySha256.slice(0, 32)})`;
  }

  [inspect.custom](): string {
    return `TlsKey { publicKeySha256: '${this.publicKeySha256}' }`;
  }
}

function privateKeyOf(key: TlsKey): KeyObject {
  const privateKey = privateKeys.get(key);
  if (privateKey === undefined) throw new TypeError('Not a TlsKey created by the trust core.');
  return privateKey;
}

/**
 * PKCS#8 PEM of a TLS key, for node's TLS context (`key` option) only: never log, return over an
 * API or send it.
 */
export function tlsKeyPem(key: TlsKey): string {
  return privateKeyOf(key).export({ format: 'pem', type: 'pkcs8' }).toString();
}

/** PKCS#8 DER of a TLS key, for TLS key files and WebCrypto import only. */
export function tlsKeyPkcs8(key: TlsKey): Uint8Array {
  return new Uint8Array(privateKeyOf(key).export({ format: 'der', type: 'pkcs8' }));
}
