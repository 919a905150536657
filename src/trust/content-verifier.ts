/**
 * C5 streaming content check: bytes are counted and hashed as they arrive. The moment more bytes
 * arrive than the manifest declares, update() throws (endless data stops at the declared size);
 * finish() throws when bytes are missing or the SHA-256 differs. The caller deletes the download.
 */
import { createSha256 } from './digest.js';
import { ContentSizeError, HashMismatchError, PayloadInvalidError } from './trust-errors.js';

export type ContentVerifier = {
  /** Counts and hashes a chunk; ERR_CONTENT_SIZE as soon as the total exceeds the declared size. */
  update(chunk: Uint8Array): void;
  /** ERR_CONTENT_SIZE when bytes are missing, ERR_HASH_MISMATCH when the hash differs. */
  finish(): void;
  readonly bytesSeen: number;
};

/** A verifier for one file of a manifest: its declared size and SHA-256. */
export function createContentVerifier(expected: { size: number; sha256: string }): ContentVerifier {
  if (!Number.isSafeInteger(expected.size) || expected.size < 0) {
    throw new PayloadInvalidError('The expected content size must be a non-negative integer.');
  }
  if (!/^[0-9a-f]{64}$/.test(expected.sha256)) {
    throw new PayloadInvalidError('The expected content hash must be a lowercase hex SHA-256.');
  }
  const hash = createSha256();
  let bytesSeen = 0;
  let state: 'open' | 'finished' | 'failed' = 'open';
  const fail = (error: Error): never => {
    state = 'failed';
    throw error;
  };
  return {
    update(chunk) {
      if (state !== 'open') throw new Error('This content verifier is finished or has failed.');
      if (chunk.byteLength > expected.size - bytesSeen) {
        fail(
          new ContentSizeError(
            `The content is longer than the ${expected.size} bytes its manifest declares; download stopped.`,
          ),
        );
      }
      bytesSeen += chunk.byteLength;
      hash.update(chunk);
    },
    finish() {
      if (state !== 'open') throw new Error('This content verifier is finished or has failed.');
      if (bytesSeen !== expected.size) {
        fail(
          new ContentSizeError(`The content is ${bytesSeen} bytes; its manifest declares ${expected.size}.`),
        );
      }
      const actual = hash.digestHex();
      state = 'finished';
      if (actual !== expected.sha256) {
        throw new HashMismatchError(
          `The content has SHA-256 ${actual}; its manifest declares ${expected.sha256}.`,
        );
      }
    },
    get bytesSeen() {
      return bytesSeen;
    },
  };
}
