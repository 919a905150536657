/**
 * Private keys at rest (DESIGN.md section 2): JSON `steward-key/v1`, the PKCS#8 DER encrypted with
 * AES-256-GCM under a scrypt-derived key, the key id as additional authenticated data
 * (sealed-key.ts). Files are written atomically with mode 0600 and read with a size cap (C6).
 */
import { z } from 'zod';
import { exportPkcs8, SigningKey } from './keys.js';
import { writeAtomically } from './key-file-io.js';
import type { KeySecret } from './key-secret.js';
import { keyIdSchema } from './public-key-record.js';
import {
  base64Field,
  openSealedPkcs8,
  readKeyFileJson,
  sealedKeyFields,
  sealPkcs8,
  type KeyFileOptions,
} from './sealed-key.js';
import { KeyFileError } from './trust-errors.js';

export { createSecretFile, type KeySecret } from './key-secret.js';
export { maxKeyFileBytes, readCapped, writeAtomically } from './key-file-io.js';
export type { KeyFileOptions } from './sealed-key.js';

const keyFileFormat = 'steward-key/v1';

const keyFileSchema = z.strictObject({
  format: z.literal(keyFileFormat),
  keyId: keyIdSchema,
  publicKey: base64Field(44),
  ...sealedKeyFields,
});

/** Writes a signing key encrypted under the secret, atomically, mode 0600. */
export async function writeKeyFile(
  path: string,
  key: SigningKey,
  secret: KeySecret,
  options: KeyFileOptions = {},
): Promise<void> {
  const pkcs8 = exportPkcs8(key);
  const sealed = await sealPkcs8(pkcs8, key.keyId, secret, options);
  pkcs8.fill(0);
  const document = {
    format: keyFileFormat,
    keyId: key.keyId,
    publicKey: key.publicRecord().publicKey,
    ...sealed,
  };
  await writeAtomically(path, JSON.stringify(document, null, 2) + '\n');
}

/** Reads and decrypts a key file: ERR_KEY_FILE when damaged, ERR_KEY_PASSPHRASE when the secret is wrong. */
export async function readKeyFile(path: string, secret: KeySecret): Promise<SigningKey> {
  const file = await readKeyFileJson(path, keyFileSchema, keyFileFormat);
  const pkcs8 = await openSealedPkcs8(path, file, file.keyId, secret);
  const key = SigningKey.fromPkcs8(pkcs8);
  pkcs8.fill(0);
  if (key.keyId !== file.keyId || key.publicRecord().publicKey !== file.publicKey) {
    throw new KeyFileError(`Key file ${path} holds a private key that does not match its key id.`);
  }
  return key;
}
