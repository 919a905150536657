/**
 * TLS private keys at rest (docs/tls.md): JSON `steward-tls-key/v1`, the same family as
 * `steward-key/v1` (key-file.ts): the PKCS#8 DER encrypted with AES-256-GCM under a scrypt-derived
 * key, the SHA-256 of the public key as additional authenticated data, written atomically with mode
 * 0600 and read with the same 64 KiB cap (C6).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { algorithms, isAcceptableScryptCost } from '../algorithms.js';
import { decodeCanonicalBase64, encodeBase64 } from '../base64.js';
import { readCapped, writeAtomically, type KeyFileOptions } from '../key-file.js';
import { deriveFileKey, readSecret, type KeySecret } from '../key-secret.js';
import { parseWith } from '../schema-parse.js';
import { KeyFileError, KeyPassphraseError } from '../trust-errors.js';
import { sha256Field } from '../documents/fields.js';
import { TlsKey, tlsKeyPkcs8 } from './tls-key.js';

const tlsKeyFileFormat = 'steward-tls-key/v1';

const base64Field = (maxLength: number) =>
  z
    .string()
    .max(maxLength)
    .refine((text) => decodeCanonicalBase64(text) !== undefined, 'must be canonical base64');

const tlsKeyFileSchema = z.strictObject({
  format: z.literal(tlsKeyFileFormat),
  keyType: z.literal('ecdsa-p256'),
  publicKeySha256: sha256Field,
  kdf: z.strictObject({
    name: z.literal(algorithms.kdf.name),
    salt: base64Field(256),
    N: z.number().int(),
    r: z.number().int(),
    p: z.number().int(),
  }),
  cipher: z.literal(algorithms.cipher.name),
  iv: base64Field(24),
  ciphertext: base64Field(4096),
  tag: base64Field(24),
});

function bytes(text: string): Buffer {
  return Buffer.from(text, 'base64');
}

/** Writes a TLS private key encrypted under the secret, atomically, mode 0600. */
export async function writeTlsKeyFile(
  path: string,
  key: TlsKey,
  secret: KeySecret,
  options: KeyFileOptions = {},
): Promise<void> {
  const cost = options.cost ?? algorithms.kdf.defaultCost;
  if (!isAcceptableScryptCost(cost)) throw new RangeError('writeTlsKeyFile: unacceptable scrypt cost');
  const salt = randomBytes(algorithms.kdf.saltBytes);
  const iv = randomBytes(algorithms.cipher.ivBytes);
  const fileKey = await deriveFileKey(await readSecret(secret), salt, cost);
  const cipher = createCipheriv(algorithms.cipher.name, fileKey, iv, {
    authTagLength: algorithms.cipher.tagBytes,
  });
  cipher.setAAD(Buffer.from(key.publicKeySha256, 'utf8'));
  const pkcs8 = tlsKeyPkcs8(key);
  const ciphertext = Buffer.concat([cipher.update(pkcs8), cipher.final()]);
  pkcs8.fill(0);
  const document = {
    format: tlsKeyFileFormat,
    keyType: 'ecdsa-p256',
    publicKeySha256: key.publicKeySha256,
    kdf: { name: algorithms.kdf.name, salt: encodeBase64(salt), N: cost.N, r: cost.r, p: cost.p },
    cipher: algorithms.cipher.name,
    iv: encodeBase64(iv),
    ciphertext: encodeBase64(ciphertext),
    tag: encodeBase64(cipher.getAuthTag()),
  };
  await writeAtomically(path, JSON.stringify(document, null, 2) + '\n');
}

/**
 * Reads and decrypts a TLS key file: ERR_KEY_FILE when damaged or not a TLS key file,
 * ERR_KEY_PASSPHRASE when the secret is wrong.
 */
export async function readTlsKeyFile(path: string, secret: KeySecret): Promise<TlsKey> {
  const raw = await readCapped(path);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
  } catch (cause) {
    throw new KeyFileError(`Key file ${path} is not a Steward TLS key file (not JSON; truncated?).`, {
      cause,
    });
  }
  const file = parseWith(
    tlsKeyFileSchema,
    json,
    (issues) => new KeyFileError(`Key file ${path} is not a ${tlsKeyFileFormat} key file: ${issues}.`),
  );
  const cost = { N: file.kdf.N, r: file.kdf.r, p: file.kdf.p };
  if (!isAcceptableScryptCost(cost)) {
    throw new KeyFileError(`Key file ${path} uses scrypt parameters outside the accepted range.`);
  }
  const iv = bytes(file.iv);
  const tag = bytes(file.tag);
  if (iv.length !== algorithms.cipher.ivBytes || tag.length !== algorithms.cipher.tagBytes) {
    throw new KeyFileError(`Key file ${path} has a malformed nonce or tag.`);
  }
  const fileKey = await deriveFileKey(await readSecret(secret), bytes(file.kdf.salt), cost);
  const decipher = createDecipheriv(algorithms.cipher.name, fileKey, iv, {
    authTagLength: algorithms.cipher.tagBytes,
  });
  decipher.setAAD(Buffer.from(file.publicKeySha256, 'utf8'));
  decipher.setAuthTag(tag);
  let pkcs8: Buffer;
  try {
    pkcs8 = Buffer.concat([decipher.update(bytes(file.ciphertext)), decipher.final()]);
  } catch (cause) {
    throw new KeyPassphraseError(
      `The passphrase or secret file does not open key file ${path} (or the file was modified).`,
      { cause },
    );
  }
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
