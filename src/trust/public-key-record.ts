/**
 * How a public key travels: `{ keyId, publicKey }` with the key id (lowercase hex SHA-256 of the raw
 * key) and the raw 32-byte key in standard base64. The schema checks that the id matches the bytes.
 */
import { z } from 'zod';
import { algorithms } from './algorithms.js';
import { decodeCanonicalBase64 } from './base64.js';
import { sha256Hex } from './digest.js';

/** A public key as it travels in documents and over the wire. */
export type PublicKeyRecord = { keyId: string; publicKey: string };

/** Schema for a key id: 64 lowercase hex digits. */
export const keyIdSchema = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits');

/** Raw public key bytes of a record, or undefined when the base64 is not canonical or not 32 bytes. */
export function rawPublicKeyOf(publicKey: string): Uint8Array | undefined {
  if (publicKey.length !== 44) return undefined;
  const raw = decodeCanonicalBase64(publicKey);
  return raw?.byteLength === algorithms.signature.publicKeyBytes ? raw : undefined;
}

/** Schema for a PublicKeyRecord whose keyId is the SHA-256 of its publicKey bytes. */
export const publicKeyRecordSchema = z
  .strictObject({
    keyId: keyIdSchema,
    publicKey: z.string().max(44),
  })
  .superRefine((record, context) => {
    const raw = rawPublicKeyOf(record.publicKey);
    if (raw === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['publicKey'],
        message: 'must be the canonical base64 of 32 bytes',
      });
    } else if (sha256Hex(raw) !== record.keyId) {
      context.addIssue({ code: 'custom', path: ['keyId'], message: 'does not match the public key' });
    }
  });
