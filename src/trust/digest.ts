/**
 * SHA-256 in lowercase hex: key ids, document hashes, content hashes (DESIGN.md section 2).
 */
import { createHash } from 'node:crypto';
import { algorithms } from './algorithms.js';

/** A streaming SHA-256 (content is hashed while it streams, never buffered whole). */
export type Sha256 = { update(chunk: Uint8Array): void; digestHex(): string };

/** Lowercase hex SHA-256 of bytes, or of a string's UTF-8 encoding. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash(algorithms.digest.name).update(data).digest('hex');
}

/** A streaming SHA-256; digestHex() may be called once. */
export function createSha256(): Sha256 {
  const hash = createHash(algorithms.digest.name);
  return {
    update(chunk) {
      hash.update(chunk);
    },
    digestHex() {
      return hash.digest('hex');
    },
  };
}

const sha256HexShape = /^[0-9a-f]{64}$/;

/** True for a lowercase 64-digit hex string (a SHA-256 or a key id). */
export function isSha256Hex(text: string): boolean {
  return sha256HexShape.test(text);
}
