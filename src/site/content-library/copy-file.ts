/**
 * Copies one source file into the library while hashing it: every byte is read once, in 1 MiB
 * chunks (COMPONENTS.md: streaming, not SHA-256, is the bottleneck), and the next chunk is read while
 * the current one is written. The source must still be the file the walk listed, with its size.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { createSha256 } from '../../trust/index.js';
import { PackageSourceError } from './errors.js';
import { noFollowFlag } from './safe-open.js';
import type { SourceFile } from './source-walk.js';

export const chunkBytes = 1024 * 1024;

/** Returns the SHA-256 of the bytes written; `onBytes` is called after each chunk. */
export async function copyAndHash(
  source: SourceFile,
  destinationPath: string,
  onBytes: (bytes: number) => void,
): Promise<string> {
  const input = await open(source.absolutePath, constants.O_RDONLY | noFollowFlag).catch((cause: unknown) => {
    throw new PackageSourceError(`The file cannot be opened (changed during import?): ${source.path}`, {
      cause,
    });
  });
  try {
    const info = await input.stat();
    if (!info.isFile() || info.dev !== source.dev || info.ino !== source.ino || info.size !== source.size) {
      throw changed(source);
    }
    const output = await open(destinationPath, 'wx', 0o644);
    try {
      const sha256 = await pump(input, output, source, onBytes);
      await output.datasync();
      return sha256;
    } finally {
      await output.close();
    }
  } finally {
    await input.close();
  }
}

async function pump(
  input: FileHandle,
  output: FileHandle,
  source: SourceFile,
  onBytes: (bytes: number) => void,
): Promise<string> {
  const hash = createSha256();
  let current = Buffer.allocUnsafe(chunkBytes);
  let next = Buffer.allocUnsafe(chunkBytes);
  let position = 0;
  let reading = input.read(current, 0, chunkBytes, 0);
  try {
    for (;;) {
      const { bytesRead } = await reading;
      if (bytesRead === 0) break;
      if (position + bytesRead > source.size) throw changed(source);
      const chunk = current.subarray(0, bytesRead);
      hash.update(chunk);
      position += bytesRead;
      reading = input.read(next, 0, chunkBytes, position);
      await output.write(chunk, 0, bytesRead);
      onBytes(bytesRead);
      [current, next] = [next, current];
    }
  } finally {
    // Never leave a read in flight (or its rejection unhandled) when the copy stops early.
    await reading.catch(() => undefined);
  }
  if (position !== source.size) throw changed(source);
  return hash.digestHex();
}

function changed(source: SourceFile): PackageSourceError {
  return new PackageSourceError(`The file changed while it was imported: ${source.path}`);
}
