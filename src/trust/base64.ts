/**
 * Canonical standard base64 (RFC 4648 section 4, with padding). Steward accepts exactly one text
 * for each byte string, so that two different envelope texts never carry the same bytes unnoticed.
 */

/**
 * Node's decoder is lenient (it skips unknown characters and reads the URL-safe alphabet), but its
 * encoder writes exactly one text per byte string: standard alphabet, padding, zero trailing bits.
 * A text that survives decoding and re-encoding unchanged is therefore canonical, with no separate
 * pattern test (which cost as much as the decoding on every envelope the site reads).
 */
function decodeIfCanonical(text: string): Buffer | undefined {
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}

/** True when the text is standard base64 with padding and zero trailing bits. */
export function isCanonicalBase64(text: string): boolean {
  return decodeIfCanonical(text) !== undefined;
}

/** Decodes canonical base64, or returns undefined when the text is not canonical. */
export function decodeCanonicalBase64(text: string): Uint8Array | undefined {
  const bytes = decodeIfCanonical(text);
  return bytes === undefined ? undefined : new Uint8Array(bytes);
}

/** Encodes bytes as standard base64 with padding. */
export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Upper bound of the bytes a base64 text of this length decodes to (for C6 checks before decoding). */
export function decodedLengthBound(base64Length: number): number {
  return Math.floor(base64Length / 4) * 3 + 3;
}
