/**
 * The trust core's failure kinds: one class per kind, each with a stable code (docs/errors.md, section
 * "Trust"). Messages are written for an administrator and never contain key material: at most a key
 * id, a fingerprint, a version or a site code.
 */
import { StewardError } from './errors.js';

/** The DSSE envelope is not well formed (JSON, fields, base64, key ids, signature count). */
export class EnvelopeInvalidError extends StewardError {
  readonly code = 'ERR_ENVELOPE_INVALID';
}

/** The envelope carries a payload type other than the one the caller expects. */
export class PayloadTypeError extends StewardError {
  readonly code = 'ERR_PAYLOAD_TYPE';
}

/** The payload (or a value handed to the trust core) does not match its schema. */
export class PayloadInvalidError extends StewardError {
  readonly code = 'ERR_PAYLOAD_INVALID';
}

/** C6: an input exceeds its byte or count limit; refused before it is parsed. */
export class TooLargeError extends StewardError {
  readonly code = 'ERR_TOO_LARGE';
  override readonly status = 413;
}

/** A signature made with a trusted key id does not verify over the exact payload bytes. */
export class SignatureInvalidError extends StewardError {
  readonly code = 'ERR_SIGNATURE_INVALID';
  override readonly status = 401;
}

/** No signature on the envelope was made by any trusted key. */
export class UnknownKeyError extends StewardError {
  readonly code = 'ERR_UNKNOWN_KEY';
  override readonly status = 401;
}

/** Fewer distinct trusted keys signed than the threshold requires. */
export class ThresholdNotMetError extends StewardError {
  readonly code = 'ERR_THRESHOLD_NOT_MET';
  override readonly status = 401;
}

/** The document's expiresAt has passed (a freeze when no newer document arrives). */
export class ExpiredError extends StewardError {
  readonly code = 'ERR_EXPIRED';
}

/** The document's issuedAt lies further in the future than the allowed clock skew. */
export class NotYetValidError extends StewardError {
  readonly code = 'ERR_NOT_YET_VALID';
  override readonly retryable = true;
}

/** C3: a sequence lower than the last accepted one (a rollback attack or a stale replica). */
export class RollbackError extends StewardError {
  readonly code = 'ERR_ROLLBACK';
  override readonly status = 409;
}

/** C1: root documents do not form a valid rotation chain (gap, fork, too long, empty). */
export class RotationChainError extends StewardError {
  readonly code = 'ERR_ROTATION_CHAIN';
}

/** C1: no offered root document contains the key pinned at install. */
export class RootPinMismatchError extends StewardError {
  readonly code = 'ERR_ROOT_PIN_MISMATCH';
}

/** C2: a certificate is valid but issued for another site than the expected one. */
export class CertificateSiteMismatchError extends StewardError {
  readonly code = 'ERR_CERTIFICATE_SITE_MISMATCH';
}

/** C3: a document addressed to another client or site. */
export class WrongRecipientError extends StewardError {
  readonly code = 'ERR_WRONG_RECIPIENT';
}

/** C4, C5: bytes whose SHA-256 differs from the hash a signed document promised. */
export class HashMismatchError extends StewardError {
  readonly code = 'ERR_HASH_MISMATCH';
}

/** C5: content longer or shorter than its manifest declares (endless data is cut off). */
export class ContentSizeError extends StewardError {
  readonly code = 'ERR_CONTENT_SIZE';
}

/** A key file (or secret file) is missing, truncated, corrupt, oversized or of an unknown format. */
export class KeyFileError extends StewardError {
  readonly code = 'ERR_KEY_FILE';
}

/** The passphrase or secret file does not open the key file. */
export class KeyPassphraseError extends StewardError {
  readonly code = 'ERR_KEY_PASSPHRASE';
}

/** Every error class of the trust core (docs/errors.md lists each; a test keeps them in step). */
export const trustErrorClasses = [
  EnvelopeInvalidError,
  PayloadTypeError,
  PayloadInvalidError,
  TooLargeError,
  SignatureInvalidError,
  UnknownKeyError,
  ThresholdNotMetError,
  ExpiredError,
  NotYetValidError,
  RollbackError,
  RotationChainError,
  RootPinMismatchError,
  CertificateSiteMismatchError,
  WrongRecipientError,
  HashMismatchError,
  ContentSizeError,
  KeyFileError,
  KeyPassphraseError,
] as const;

/** Any error the trust core throws on purpose. */
export type TrustError = InstanceType<(typeof trustErrorClasses)[number]>;

/** The stable codes of the trust core. */
export type TrustErrorCode = TrustError['code'];
