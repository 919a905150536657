/**
 * Private keys at rest (DESIGN.md section 2): JSON `steward-key/v1`, the PKCS#8 DER encrypted with
 * AES-256-GCM under a scrypt-derived key, the key id as additional authenticated data. Files are
 * written atomically (temporary file, fsync, rename) with mode 0600, and read with a size cap (C6).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmod, open, rename, rm } from 'node:fs/promises';
import { z } from 'zod';
import { algorithms, isAcceptableScryptCost, type ScryptCost } from './algorithms.js';
import { decodeCanonicalBase64, encodeBase64 } from './base64.js';
import { exportPkcs8, SigningKey } from './keys.js';
import { deriveFileKey, readSecret, type KeySecret } from './key-secret.js';
import { keyIdSchema } from './public-key-record.js';
import { randomId } from './secrets.js';
import { parseWith } from './schema-parse.js';
import { KeyFileError, KeyPassphraseError } from './trust-errors.js';

export { createSecretFile, type KeySecret } from './key-secret.js';

/** C6: a key file larger than this is refused before it is parsed. */
export const maxKeyFileBytes = 64 * 1024;
const keyFileFormat = 'steward-key/v1';

const base64Field = (maxLength: number) =>
  z
    .string()
    .max(maxLength)
    .refine((text) => decodeCanonicalBase64(text) !== undefined, 'must be canonical base64');

const keyFileSchema = z.strictObject({
  format: z.literal(keyFileFormat),
  keyId: keyIdSchema,
  publicKey: base64Field(44),
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

/** Options for writeKeyFile; a lower scrypt cost is for tests only. */
export type KeyFileOptions = { cost?: ScryptCost };

function bytes(text: string): Buffer {
  return Buffer.from(text, 'base64');
}

/** Writes a signing key encrypted under the secret, atomically, mode 0600. */
export async function writeKeyFile(
  path: string,
  key: SigningKey,
  secret: KeySecret,
  options: KeyFileOptions = {},
): Promise<void> {
  const cost = options.cost ?? algorithms.kdf.defaultCost;
  if (!isAcceptableScryptCost(cost)) throw new RangeError('writeKeyFile: unacceptable scrypt cost');
  const salt = randomBytes(algorithms.kdf.saltBytes);
  const iv = randomBytes(algorithms.cipher.ivBytes);
  const fileKey = await deriveFileKey(await readSecret(secret), salt, cost);
  const cipher = createCipheriv(algorithms.cipher.name, fileKey, iv, {
    authTagLength: algorithms.cipher.tagBytes,
  });
  cipher.setAAD(Buffer.from(key.keyId, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(exportPkcs8(key)), cipher.final()]);
  const document = {
    format: keyFileFormat,
    keyId: key.keyId,
    publicKey: key.publicRecord().publicKey,
    kdf: { name: algorithms.kdf.name, salt: encodeBase64(salt), N: cost.N, r: cost.r, p: cost.p },
    cipher: algorithms.cipher.name,
    iv: encodeBase64(iv),
    ciphertext: encodeBase64(ciphertext),
    tag: encodeBase64(cipher.getAuthTag()),
  };
  await writeAtomically(path, JSON.stringify(document, null, 2) + '\n');
}

/** Writes text to path atomically (temporary file, fsync, rename), mode 0600; ERR_KEY_FILE on failure. */
export async function writeAtomically(path: string, text: string): Promise<void> {
  const temporary = `${path}.${randomId()}.tmp`;
  try {
    const handle = await open(temporary, 'wx', 0o600);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await chmod(temporary, 0o600);
    await rename(temporary, path);
    await chmod(path, 0o600);
  } catch (cause) {
    await rm(temporary, { force: true });
    throw new KeyFileError(`Could not write key file ${path}.`, { cause });
  }
}

/** C6: reads a key file of at most maxKeyFileBytes; ERR_KEY_FILE when missing, unreadable or larger. */
export async function readCapped(path: string): Promise<Buffer> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (cause) {
    throw new KeyFileError(`Could not open key file ${path}.`, { cause });
  }
  try {
    const { size } = await handle.stat();
    if (size > maxKeyFileBytes) throw tooLarge(path);
    const buffer = Buffer.alloc(maxKeyFileBytes + 1);
    let filled = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
      if (filled > maxKeyFileBytes) throw tooLarge(path);
    }
    return buffer.subarray(0, filled);
  } catch (cause) {
    if (cause instanceof KeyFileError) throw cause;
    throw new KeyFileError(`Could not read key file ${path}.`, { cause });
  } finally {
    await handle.close();
  }
}

function tooLarge(path: string): KeyFileError {
  return new KeyFileError(`Key file ${path} is larger than ${maxKeyFileBytes} bytes; refusing to read it.`);
}

/** Reads and decrypts a key file: ERR_KEY_FILE when damaged, ERR_KEY_PASSPHRASE when the secret is wrong. */
export async function readKeyFile(path: string, secret: KeySecret): Promise<SigningKey> {
  const raw = await readCapped(path);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
  } catch (cause) {
    throw new KeyFileError(`Key file ${path} is not a Steward key file (not JSON; truncated?).`, { cause });
  }
  const file = parseWith(
    keyFileSchema,
    json,
    (issues) => new KeyFileError(`Key file ${path} is not a ${keyFileFormat} key file: ${issues}.`),
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
  decipher.setAAD(Buffer.from(file.keyId, 'utf8'));
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
  const key = SigningKey.fromPkcs8(pkcs8);
  pkcs8.fill(0);
  if (key.keyId !== file.keyId || key.publicRecord().publicKey !== file.publicKey) {
    throw new KeyFileError(`Key file ${path} holds a private key that does not match its key id.`);
  }
  return key;
}
