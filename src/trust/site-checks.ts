/**
 * What a site checks in the trust core: S1 proof of possession on registration and the signature
 * part of S2 on reports. Approval (S1), replay refusal (S2, by messageId and sequence in the site
 * store), S3 site messages and S4 directory writers are enforced by the site and directory layers.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { decodeCanonicalBase64 } from './base64.js';
import { sha256Hex } from './digest.js';
import type { Envelope } from './dsse.js';
import { envelopePayloadBytes } from './dsse.js';
import {
  openDocument,
  parsePayload,
  readEnvelope,
  type DocumentLimits,
  type OpenedDocument,
} from './documents/open.js';
import { publicKeyFromRecord, type VerifyingKey } from './keys.js';
import { PayloadInvalidError } from './trust-errors.js';
import { isCertificateCurve, spkiDer } from './tls/tls-key.js';

type EnvelopeInput = Envelope | string | Uint8Array;

/** A verified registration: the opened document, the client id (= clientKey.keyId) and the key. */
export type VerifiedRegistration = OpenedDocument<'client-registration'> & {
  clientId: string;
  clientKey: VerifyingKey;
};

/**
 * S1 proof of possession: the envelope must be signed by the clientKey inside its own payload. The
 * key is read from the unverified payload only to check that very signature; then the document is
 * opened normally (signature, schema, issuedAt, expiresAt).
 */
export function verifyRegistration(
  envelope: EnvelopeInput,
  now: Date,
  limits?: DocumentLimits,
): VerifiedRegistration {
  const checked = readEnvelope('client-registration', envelope, limits);
  const claimed = parsePayload('client-registration', envelopePayloadBytes(checked));
  const clientKey = publicKeyFromRecord(claimed.clientKey);
  const opened = openDocument('client-registration', checked, [clientKey], 1, now, limits);
  return { ...opened, clientId: clientKey.keyId, clientKey };
}

/**
 * S2 signature part: signed by the registered client key, in date, and naming that client
 * (ERR_PAYLOAD_INVALID otherwise). Refusing replays is the site store's job.
 */
export function verifyClientReport(
  envelope: EnvelopeInput,
  clientKey: VerifyingKey,
  now: Date,
  limits?: DocumentLimits,
): OpenedDocument<'client-report'> {
  const opened = openDocument('client-report', envelope, [clientKey], 1, now, limits);
  if (opened.payload.clientId !== clientKey.keyId) {
    throw new PayloadInvalidError(
      `The report names client ${opened.payload.clientId.slice(0, 16)}… but is signed by client ` +
        `${clientKey.keyId.slice(0, 16)}….`,
    );
  }
  return opened;
}

/** A verified TLS client certificate request: the opened document and the TLS public key it names. */
export type VerifiedTlsClientRequest = OpenedDocument<'tls-client-request'> & {
  /** The ECDSA P-256 public key to certify. */
  tlsPublicKey: KeyObject;
  /** SubjectPublicKeyInfo DER of that key, and its lowercase hex SHA-256. */
  tlsPublicKeyDer: Uint8Array;
  tlsPublicKeySha256: string;
};

/**
 * A client asks for a TLS client certificate (docs/tls.md): the `tls-client-request` must be signed
 * by the registered client key (ERR_UNKNOWN_KEY, ERR_SIGNATURE_INVALID), in date, name that client
 * (ERR_PAYLOAD_INVALID) and carry an ECDSA P-256 SubjectPublicKeyInfo (ERR_PAYLOAD_INVALID).
 * Whether the client is approved, and the site, are the site's checks.
 */
export function verifyTlsClientRequest(
  envelope: EnvelopeInput,
  clientKey: VerifyingKey,
  now: Date,
  limits?: DocumentLimits,
): VerifiedTlsClientRequest {
  const opened = openDocument('tls-client-request', envelope, [clientKey], 1, now, limits);
  if (opened.payload.clientId !== clientKey.keyId) {
    throw new PayloadInvalidError(
      `The certificate request names client ${opened.payload.clientId.slice(0, 16)}… but is signed by ` +
        `client ${clientKey.keyId.slice(0, 16)}….`,
    );
  }
  const der = decodeCanonicalBase64(opened.payload.tlsPublicKey) ?? new Uint8Array(0);
  let tlsPublicKey: KeyObject;
  try {
    tlsPublicKey = createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
  } catch (cause) {
    throw new PayloadInvalidError('The certificate request does not carry a readable public key.', { cause });
  }
  if (!isCertificateCurve(tlsPublicKey)) {
    throw new PayloadInvalidError('The certificate request must carry an ECDSA P-256 public key.');
  }
  const tlsPublicKeyDer = spkiDer(tlsPublicKey);
  return { ...opened, tlsPublicKey, tlsPublicKeyDer, tlsPublicKeySha256: sha256Hex(tlsPublicKeyDer) };
}
