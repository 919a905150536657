/**
 * What a site checks in the trust core: S1 proof of possession on registration and the signature
 * part of S2 on reports. Approval (S1), replay refusal (S2, by messageId and sequence in the site
 * store), S3 site messages and S4 directory writers are enforced by the site and directory layers.
 */
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
