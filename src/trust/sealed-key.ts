/**
 * The encrypted body shared by Steward's key files (`steward-key/v1` in key-file.ts and
 * `steward-tls-key/v1` in tls/tls-key-file.ts): a PKCS#8 DER encrypted with AES-256-GCM under a
 * scrypt-derived key, bound to the key's public identity by the additional authenticated data.
 * Reading is capped (C6), checks the scrypt cost before deriving, and tells a damaged file
 * (ERR_KEY_FILE) from a wrong secret (ERR_KEY_PASSPHRASE).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { algorithms, isAcceptableScryptCost, type ScryptCost } from './algorithms.js';
import { decodeCanonicalBase64, encodeBase64 } from './base64.js';
import { readCapped } from './key-file-io.js';
import { deriveFileKey, readSecret, type KeySecret } from './key-secret.js';
import { parseWith } from './schema-parse.js';
import { KeyFileError, KeyPassphraseError } from './trust-errors.js';

/** Options for writing a key file; a lower scrypt cost is for tests only. */
export type KeyFileOptions = { cost?: ScryptCost };

/** A canonical base64 string of at most `maxLength` characters. */
export const base64Field = (maxLength: number) =>
  z
    .string()
    .max(maxLength)
    .refine((text) => decodeCanonicalBase64(text) !== undefined, 'must be canonical base64');

/** The fields of the encrypted body, to spread into a key file's strict schema. */
export const sealedKeyFields = {
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
};

export interface SealedKey {
  kdf: { name: string; salt: string; N: number; r: number; p: number };
  cipher: string;
  iv: string;
  ciphertext: string;
  tag: string;
}

function bytes(text: string): Buffer {
  return Buffer.from(text, 'base64');
}

/** Encrypts a PKCS#8 DER under the secret, bound to `boundTo` (the key's public identity). */
export async function sealPkcs8(
  pkcs8: Uint8Array,
  boundTo: string,
  secret: KeySecret,
  options: KeyFileOptions,
): Promise<SealedKey> {
  const cost = options.cost ?? algorithms.kdf.defaultCost;
  if (!isAcceptableScryptCost(cost)) throw new RangeError('key file: unacceptable scrypt cost');
  const salt = randomBytes(algorithms.kdf.saltBytes);
  const iv = randomBytes(algorithms.cipher.ivBytes);
  const fileKey = await deriveFileKey(await readSecret(secret), salt, cost);
  const cipher = createCipheriv(algorithms.cipher.name, fileKey, iv, {
    authTagLength: algorithms.cipher.tagBytes,
  });
  cipher.setAAD(Buffer.from(boundTo, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(pkcs8), cipher.final()]);
  return {
    kdf: { name: algorithms.kdf.name, salt: encodeBase64(salt), N: cost.N, r: cost.r, p: cost.p },
    cipher: algorithms.cipher.name,
    iv: encodeBase64(iv),
    ciphertext: encodeBase64(ciphertext),
    tag: encodeBase64(cipher.getAuthTag()),
  };
}

/** Reads a key file (capped, C6) and parses it with its strict schema: ERR_KEY_FILE otherwise. */
export async function readKeyFileJson<T extends SealedKey>(
  path: string,
  schema: z.ZodType<T>,
  format: string,
): Promise<T> {
  const raw = await readCapped(path);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
  } catch (cause) {
    throw new KeyFileError(`Key file ${path} is not a ${format} key file (not JSON; truncated?).`, { cause });
  }
  return parseWith(
    schema,
    json,
    (issues) => new KeyFileError(`Key file ${path} is not a ${format} key file: ${issues}.`),
  );
}

/**
 * Decrypts the body of a parsed key file: the scrypt cost is checked before any work, then the
 * authenticated decryption; the caller zeroes the returned PKCS#8 once it has made the key.
 */
export async function openSealedPkcs8(
  path: string,
  file: SealedKey,
  boundTo: string,
  secret: KeySecret,
): Promise<Buffer> {
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
  decipher.setAAD(Buffer.from(boundTo, 'utf8'));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(bytes(file.ciphertext)), decipher.final()]);
  } catch (cause) {
    throw new KeyPassphraseError(
      `The passphrase or secret file does not open key file ${path} (or the file was modified).`,
      { cause },
    );
  }
}
