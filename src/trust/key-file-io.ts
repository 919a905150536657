/**
 * Key files on disk (C6): written atomically (temporary file, fsync, rename) with mode 0600, and
 * read with a size cap before anything is parsed.
 */
import { chmod, open, rename, rm } from 'node:fs/promises';
import { randomId } from './secrets.js';
import { KeyFileError } from './trust-errors.js';

/** C6: a key file larger than this is refused before it is parsed. */
export const maxKeyFileBytes = 64 * 1024;

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
