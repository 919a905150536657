/**
 * Ed25519 signing and verifying keys (DESIGN.md section 2). A SigningKey wraps a node KeyObject; its
 * private half never appears in toString, JSON or util.inspect output, only its key id does. PKCS#8
 * export exists for key files alone (exportPkcs8, not re-exported from index.ts).
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { inspect } from 'node:util';
import { algorithms } from './algorithms.js';
import { encodeBase64 } from './base64.js';
import { fingerprintOf, keyIdOf } from './fingerprint.js';
import { publicKeyRecordSchema, rawPublicKeyOf, type PublicKeyRecord } from './public-key-record.js';
import { parseWith } from './schema-parse.js';
import { KeyFileError, PayloadInvalidError } from './trust-errors.js';

/** Private halves, reachable only from this module (never a property of the SigningKey object). */
const privateKeys = new WeakMap<SigningKey, KeyObject>();

function rawPublicKeyFrom(publicKey: KeyObject): Uint8Array {
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  return new Uint8Array(spki.subarray(algorithms.signature.spkiPrefix.length));
}

/** A public key that checks signatures. */
export class VerifyingKey {
  readonly keyId: string;
  readonly fingerprint: string;
  readonly #publicKey: KeyObject;
  readonly #raw: Uint8Array;

  /** Use publicKeyFromRecord or SigningKey.verifyingKey(). */
  constructor(raw: Uint8Array) {
    this.#raw = new Uint8Array(raw);
    this.keyId = keyIdOf(this.#raw);
    this.fingerprint = fingerprintOf(this.keyId);
    // The raw key goes in as a JWK: OpenSSL 3 decodes it about ten times faster than the same key
    // wrapped in SubjectPublicKeyInfo DER (about 10 µs against 100 µs), and the site turns a
    // registered key into a KeyObject for every report it verifies (S2).
    try {
      this.#publicKey = createPublicKey({
        key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(this.#raw).toString('base64url') },
        format: 'jwk',
      });
    } catch (cause) {
      throw new PayloadInvalidError(`Public key ${this.fingerprint} is not a valid Ed25519 key.`, { cause });
    }
  }

  /** True when sig is a valid Ed25519 signature of data by this key. */
  verify(data: Uint8Array, sig: Uint8Array): boolean {
    if (sig.byteLength !== algorithms.signature.signatureBytes) return false;
    try {
      return verify(null, data, this.#publicKey, sig);
    } catch {
      return false;
    }
  }

  publicRecord(): PublicKeyRecord {
    return { keyId: this.keyId, publicKey: encodeBase64(this.#raw) };
  }

  toJSON(): { keyId: string } {
    return { keyId: this.keyId };
  }

  toString(): string {
    return `VerifyingKey(${this.fingerprint})`;
  }

  [inspect.custom](): string {
    return `VerifyingKey { keyId: '${this.keyId}' }`;
  }
}

/** An Ed25519 private key. Only keyId and the public half are observable. */
export class SigningKey {
  readonly keyId: string;
  readonly fingerprint: string;
  readonly #verifyingKey: VerifyingKey;

  private constructor(privateKey: KeyObject) {
    if (privateKey.asymmetricKeyType !== algorithms.signature.name) {
      throw new KeyFileError('The private key is not an Ed25519 key.');
    }
    this.#verifyingKey = new VerifyingKey(rawPublicKeyFrom(createPublicKey(privateKey)));
    this.keyId = this.#verifyingKey.keyId;
    this.fingerprint = this.#verifyingKey.fingerprint;
    privateKeys.set(this, privateKey);
  }

  /** A new random key. */
  static generate(): SigningKey {
    return new SigningKey(generateKeyPairSync(algorithms.signature.name).privateKey);
  }

  /** A key from PKCS#8 DER; throws KeyFileError when it is not an Ed25519 private key. */
  static fromPkcs8(der: Uint8Array): SigningKey {
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
    } catch (cause) {
      throw new KeyFileError('The private key is not valid PKCS#8 DER.', { cause });
    }
    return new SigningKey(privateKey);
  }

  /** A key from a 32-byte Ed25519 seed (RFC 8032 secret key); for fixed test keys and vectors. */
  static fromSeed(seed: Uint8Array): SigningKey {
    if (seed.byteLength !== algorithms.signature.seedBytes) {
      throw new KeyFileError(`An Ed25519 seed must be ${algorithms.signature.seedBytes} bytes.`);
    }
    return SigningKey.fromPkcs8(Buffer.concat([algorithms.signature.pkcs8SeedPrefix, seed]));
  }

  publicRecord(): PublicKeyRecord {
    return this.#verifyingKey.publicRecord();
  }

  verifyingKey(): VerifyingKey {
    return this.#verifyingKey;
  }

  /** The Ed25519 signature of data. */
  sign(data: Uint8Array): Uint8Array {
    return new Uint8Array(sign(null, data, privateKeyOf(this)));
  }

  toJSON(): { keyId: string } {
    return { keyId: this.keyId };
  }

  toString(): string {
    return `SigningKey(${this.fingerprint})`;
  }

  [inspect.custom](): string {
    return `SigningKey { keyId: '${this.keyId}' }`;
  }
}

function privateKeyOf(key: SigningKey): KeyObject {
  const privateKey = privateKeys.get(key);
  if (privateKey === undefined) throw new TypeError('Not a SigningKey created by the trust core.');
  return privateKey;
}

/** PKCS#8 DER of a signing key. For key-file.ts only: never log, return or send the result. */
export function exportPkcs8(key: SigningKey): Uint8Array {
  return new Uint8Array(privateKeyOf(key).export({ format: 'der', type: 'pkcs8' }));
}

/** A verifying key from a record; ERR_PAYLOAD_INVALID when the key id does not match the bytes. */
export function publicKeyFromRecord(record: PublicKeyRecord): VerifyingKey {
  const checked = parseWith(
    publicKeyRecordSchema,
    record,
    (issues) => new PayloadInvalidError(`Invalid public key record: ${issues}.`),
  );
  const raw = rawPublicKeyOf(checked.publicKey);
  if (raw === undefined) throw new PayloadInvalidError('Invalid public key record.');
  return new VerifyingKey(raw);
}
