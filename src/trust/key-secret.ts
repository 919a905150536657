/**
 * What opens a key file: a passphrase typed by an administrator, or a secret file of random bytes
 * kept beside the key (mode 0600) for unattended services. Either is stretched with scrypt.
 */
import { randomBytes, scrypt } from 'node:crypto';
import { chmod, open, readFile, stat } from 'node:fs/promises';
import { algorithms, scryptMaxmem, type ScryptCost } from './algorithms.js';
import { KeyFileError, KeyPassphraseError } from './trust-errors.js';

/** The secret that opens a key file. */
export type KeySecret = { passphrase: string } | { secretFile: string };

/** C6: a secret file larger than this is refused. */
export const maxSecretFileBytes = 4096;
const minSecretBytes = 16;

/** Creates a secret file of 32 random bytes in base64, mode 0600; refuses to overwrite. */
export async function createSecretFile(path: string): Promise<void> {
  let handle;
  try {
    handle = await open(path, 'wx', 0o600);
  } catch (cause) {
    throw new KeyFileError(`Could not create secret file ${path} (it must not exist yet).`, { cause });
  }
  try {
    await handle.writeFile(randomBytes(32).toString('base64') + '\n', 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await chmod(path, 0o600);
}

/** The secret's bytes: the NFC-normalised passphrase, or the secret file without trailing newlines. */
export async function readSecret(secret: KeySecret): Promise<Buffer> {
  if ('passphrase' in secret) {
    if (secret.passphrase.length === 0) throw new KeyPassphraseError('The passphrase must not be empty.');
    return Buffer.from(secret.passphrase.normalize('NFC'), 'utf8');
  }
  let content: Buffer;
  try {
    if ((await stat(secret.secretFile)).size > maxSecretFileBytes) {
      throw new KeyFileError(`Secret file ${secret.secretFile} is larger than ${maxSecretFileBytes} bytes.`);
    }
    content = await readFile(secret.secretFile);
  } catch (cause) {
    if (cause instanceof KeyFileError) throw cause;
    throw new KeyFileError(`Could not read secret file ${secret.secretFile}.`, { cause });
  }
  let end = content.length;
  while (end > 0 && (content[end - 1] === 0x0a || content[end - 1] === 0x0d)) end -= 1;
  if (end < minSecretBytes || content.length > maxSecretFileBytes) {
    throw new KeyFileError(`Secret file ${secret.secretFile} must hold ${minSecretBytes} to 4096 bytes.`);
  }
  return content.subarray(0, end);
}

/** The AES-256-GCM key for a key file. */
export function deriveFileKey(secret: Buffer, salt: Uint8Array, cost: ScryptCost): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(
      secret,
      salt,
      algorithms.cipher.keyBytes,
      { ...cost, maxmem: scryptMaxmem(cost) },
      (error, key) => {
        if (error)
          reject(new KeyFileError('Could not derive the key-file key with scrypt.', { cause: error }));
        else resolve(key);
      },
    );
  });
}
