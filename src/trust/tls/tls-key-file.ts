/**
 * TLS private keys at rest (docs/tls.md): JSON `steward-tls-key/v1`, the same family as
 * `steward-key/v1` (key-file.ts): the PKCS#8 DER encrypted with AES-256-GCM under a scrypt-derived
 * key, the SHA-256 of the public key as additional authenticated data, written atomically with mode
 * 0600 and read with the same 64 KiB cap (C6).
 */
import { z } from 'zod';
import { writeAtomically } from '../key-file-io.js';
import type { KeySecret } from '../key-secret.js';
import {
  openSealedPkcs8,
  readKeyFileJson,
  sealedKeyFields,
  sealPkcs8,
  type KeyFileOptions,
} from '../sealed-key.js';
import { KeyFileError } from '../trust-errors.js';
import { sha256Field } from '../documents/fields.js';
import { TlsKey, tlsKeyPkcs8 } from './tls-key.js';

const tlsKeyFileFormat = 'steward-tls-key/v1';

const tlsKeyFileSchema = z.strictObject({
  format: z.literal(tlsKeyFileFormat),
  keyType: z.literal('ecdsa-p256'),
  publicKeySha256: sha256Field,
  ...sealedKeyFields,
});

/** Writes a TLS private key encrypted under the secret, atomically, mode 0600. */
export async function writeTlsKeyFile(
  path: string,
  key: TlsKey,
  secret: KeySecret,
  options: KeyFileOptions = {},
): Promise<void> {
  const pkcs8 = tlsKeyPkcs8(key);
  const sealed = await sealPkcs8(pkcs8, key.publicKeySha256, secret, options);
  pkcs8.fill(0);
  const document = {
    format: tlsKeyFileFormat,
    keyType: 'ecdsa-p256',
    publicKeySha256: key.publicKeySha256,
    ...sealed,
  };
  await writeAtomically(path, JSON.stringify(document, null, 2) + '\n');
}

/**
 * Reads and decrypts a TLS key file: ERR_KEY_FILE when damaged or not a TLS key file,
 * ERR_KEY_PASSPHRASE when the secret is wrong.
 */
export async function readTlsKeyFile(path: string, secret: KeySecret): Promise<TlsKey> {
  const file = await readKeyFileJson(path, tlsKeyFileSchema, tlsKeyFileFormat);
  const pkcs8 = await openSealedPkcs8(path, file, file.publicKeySha256, secret);
  let key: TlsKey;
  try {
    key = TlsKey.fromPkcs8(pkcs8);
  } catch (cause) {
    throw new KeyFileError(`Key file ${path} does not hold an ECDSA P-256 private key.`, { cause });
  } finally {
    pkcs8.fill(0);
  }
  if (key.publicKeySha256 !== file.publicKeySha256) {
    throw new KeyFileError(`Key file ${path} holds a private key that does not match its public key hash.`);
  }
  return key;
}
