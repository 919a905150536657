/**
 * Key ids and fingerprints (DESIGN.md section 2). A key id is the lowercase hex SHA-256 of the raw
 * 32-byte public key. The fingerprint shown to people is `sha256:` and the first 32 hex digits of
 * the key id; wherever one is typed, the full 64-digit id is accepted too, with or without the
 * prefix, in any letter case.
 */
import { algorithms } from './algorithms.js';
import { sha256Hex } from './digest.js';
import { PayloadInvalidError } from './trust-errors.js';

const prefix = 'sha256:';
const shortHexDigits = 32;
const typedShape = /^(?:sha256:)?([0-9a-f]{32}|[0-9a-f]{64})$/;

/** The key id of a raw Ed25519 public key. */
export function keyIdOf(rawPublicKey: Uint8Array): string {
  if (rawPublicKey.byteLength !== algorithms.signature.publicKeyBytes) {
    throw new PayloadInvalidError(
      `A public key must be ${algorithms.signature.publicKeyBytes} bytes, not ${rawPublicKey.byteLength}.`,
    );
  }
  return sha256Hex(rawPublicKey);
}

/** The fingerprint shown to people: `sha256:<first 32 hex digits of the key id>`. */
export function fingerprintOf(keyId: string): string {
  return prefix + keyId.slice(0, shortHexDigits);
}

function normalise(typed: string): string | undefined {
  const match = typedShape.exec(typed.trim().toLowerCase());
  return match?.[1];
}

/**
 * Parses a typed fingerprint or key id into its normal form: `sha256:` followed by the 32 or 64
 * lowercase hex digits given. Throws PayloadInvalidError for anything else.
 */
export function parseFingerprint(text: string): string {
  const hex = normalise(text);
  if (hex === undefined) {
    throw new PayloadInvalidError(
      'A key fingerprint must be "sha256:" followed by 32 hex digits, or a full 64-digit key id.',
    );
  }
  return prefix + hex;
}

/** True when a typed fingerprint or key id names this key id. Never throws. */
export function matchesFingerprint(keyId: string, typed: string): boolean {
  const hex = normalise(typed);
  if (hex === undefined) return false;
  const id = keyId.toLowerCase();
  return hex.length === shortHexDigits ? id.length === 64 && id.startsWith(hex) : id === hex;
}
