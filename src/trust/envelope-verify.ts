/**
 * DSSE verification with a threshold of distinct trusted keys (TUF-style). Every signature by a
 * trusted key id must verify over PAE(payloadType, payload); signatures by other keys are ignored.
 */
import { decodeCanonicalBase64 } from './base64.js';
import { envelopePayloadBytes, pae, type Envelope } from './dsse.js';
import type { VerifyingKey } from './keys.js';
import {
  EnvelopeInvalidError,
  PayloadTypeError,
  SignatureInvalidError,
  ThresholdNotMetError,
  UnknownKeyError,
} from './trust-errors.js';

/** A set of trusted keys: a map from key id, or a list. */
export type TrustedKeys = ReadonlyMap<string, VerifyingKey> | readonly VerifyingKey[];

function isKeyList(trusted: TrustedKeys): trusted is readonly VerifyingKey[] {
  return Array.isArray(trusted);
}

function asMap(trusted: TrustedKeys): ReadonlyMap<string, VerifyingKey> {
  if (!isKeyList(trusted)) return trusted;
  return new Map(trusted.map((key) => [key.keyId, key] as const));
}

/**
 * Verifies an envelope and returns its payload bytes.
 * Order: payload type (ERR_PAYLOAD_TYPE); each signature by a trusted key id must verify
 * (ERR_SIGNATURE_INVALID); at least one trusted signer (ERR_UNKNOWN_KEY); at least `threshold`
 * distinct trusted signers (ERR_THRESHOLD_NOT_MET).
 */
export function verifyEnvelope(
  envelope: Envelope,
  trusted: TrustedKeys,
  threshold: number,
  expectedPayloadType: string,
): Uint8Array {
  if (!Number.isSafeInteger(threshold) || threshold < 1) {
    throw new RangeError('verifyEnvelope: threshold must be a positive integer');
  }
  if (envelope.payloadType !== expectedPayloadType) {
    throw new PayloadTypeError(
      `Expected a document of type ${expectedPayloadType}, received ${envelope.payloadType.slice(0, 128).replace(/[^\x20-\x7e]/g, '?')}.`,
    );
  }
  const keys = asMap(trusted);
  const payload = envelopePayloadBytes(envelope);
  const message = pae(envelope.payloadType, payload);
  const signers = new Set<string>();
  for (const signature of envelope.signatures) {
    const key = keys.get(signature.keyid);
    if (key?.keyId !== signature.keyid) continue;
    const sig = decodeCanonicalBase64(signature.sig);
    if (sig === undefined) throw new EnvelopeInvalidError('A signature is not canonical base64.');
    if (!key.verify(message, sig)) {
      throw new SignatureInvalidError(
        `The signature by trusted key ${key.fingerprint} does not verify over the ${expectedPayloadType} payload.`,
      );
    }
    signers.add(key.keyId);
  }
  if (signers.size === 0) {
    throw new UnknownKeyError(`No signature on the ${expectedPayloadType} document is by a trusted key.`);
  }
  if (signers.size < threshold) {
    throw new ThresholdNotMetError(
      `The ${expectedPayloadType} document is signed by ${signers.size} trusted key(s); ${threshold} are required.`,
    );
  }
  return payload;
}
