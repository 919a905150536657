/**
 * Canonical standard base64 (RFC 4648 section 4, with padding). Steward accepts exactly one text
 * for each byte string, so that two different envelope texts never carry the same bytes unnoticed.
 */

const shape = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** True when the text is standard base64 with padding and zero trailing bits. */
export function isCanonicalBase64(text: string): boolean {
  if (!shape.test(text)) return false;
  return Buffer.from(text, 'base64').toString('base64') === text;
}

/** Decodes canonical base64, or returns undefined when the text is not canonical. */
export function decodeCanonicalBase64(text: string): Uint8Array | undefined {
  if (!isCanonicalBase64(text)) return undefined;
  return new Uint8Array(Buffer.from(text, 'base64'));
}

/** Encodes bytes as standard base64 with padding. */
export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Upper bound of the bytes a base64 text of this length decodes to (for C6 checks before decoding). */
export function decodedLengthBound(base64Length: number): number {
  return Math.floor(base64Length / 4) * 3 + 3;
}
