/**
 * Root documents and the trusted root a client holds (C1). A root is anchored from a pinned
 * fingerprint or on first use, then moves forward only through followRotations (rotation.ts).
 */
import { sha256Hex } from './digest.js';
import { payloadTypeOf } from './documents/kinds.js';
import {
  parsePayload,
  readEnvelope,
  signDocument,
  type DocumentLimits,
  type SignedDocument,
} from './documents/open.js';
import type { RootPayload } from './documents/root.js';
import { checkIssuedAt } from './documents/validity.js';
import { envelopePayloadBytes, type Envelope } from './dsse.js';
import { verifyEnvelope } from './envelope-verify.js';
import { publicKeyFromRecord, SigningKey, type VerifyingKey } from './keys.js';
import type { PublicKeyRecord } from './public-key-record.js';
import { ThresholdNotMetError, UnknownKeyError } from './trust-errors.js';

/** A root the client has verified: its keys, threshold, payload and payload hash. */
export type TrustedRoot = {
  version: number;
  threshold: number;
  keys: Map<string, VerifyingKey>;
  payload: RootPayload;
  hash: string;
};

/** Fields of a new root document; times as ISO strings or Dates. */
export type RootFields = {
  version: number;
  keys: readonly SigningKey[] | readonly PublicKeyRecord[];
  threshold: number;
  issuedAt: string | Date;
  expiresAt: string | Date;
};

function isoOf(time: string | Date): string {
  return typeof time === 'string' ? time : time.toISOString();
}

/** Signs a root document. A rotation (version N+1) needs signers from both N's keys and its own. */
export function createRootDocument(fields: RootFields, signers: readonly SigningKey[]): SignedDocument {
  return signDocument(
    {
      kind: 'root',
      version: fields.version,
      issuedAt: isoOf(fields.issuedAt),
      expiresAt: isoOf(fields.expiresAt),
      threshold: fields.threshold,
      keys: fields.keys.map((key) => (key instanceof SigningKey ? key.publicRecord() : key)),
    },
    signers,
  );
}

/** The verifying keys of a root payload, by key id. */
export function rootKeysOf(payload: RootPayload): Map<string, VerifyingKey> {
  return new Map(payload.keys.map((record) => [record.keyId, publicKeyFromRecord(record)] as const));
}

/** A root document read before its signatures are checked (version and keys to check them with). */
export type RootCandidate = {
  envelope: Envelope;
  payloadBytes: Uint8Array;
  payload: RootPayload;
  hash: string;
};

/** C6 then schema: reads a root envelope and its payload, without trusting either yet. */
export function readRootCandidate(
  input: Envelope | string | Uint8Array,
  limits: DocumentLimits = {},
): RootCandidate {
  const envelope = readEnvelope('root', input, limits);
  const payloadBytes = envelopePayloadBytes(envelope);
  const payload = parsePayload('root', payloadBytes);
  return { envelope, payloadBytes, payload, hash: sha256Hex(payloadBytes) };
}

/**
 * Verifies that a root document is signed by a threshold of its own keys (ERR_THRESHOLD_NOT_MET,
 * naming the version) and is not issued in the future, and returns it as a TrustedRoot. Expiry is
 * left to the caller (an intermediate root may be expired, C1).
 */
export function selfSignedRoot(candidate: RootCandidate, now: Date): TrustedRoot {
  const keys = rootKeysOf(candidate.payload);
  const { version, threshold } = candidate.payload;
  verifyRootSignatures(candidate, keys, threshold, `its own keys (root version ${version})`);
  checkIssuedAt(candidate.payload, now);
  return { version, threshold, keys, payload: candidate.payload, hash: candidate.hash };
}

/** verifyEnvelope for roots, turning "no trusted signer" into ERR_THRESHOLD_NOT_MET naming whose keys. */
export function verifyRootSignatures(
  candidate: RootCandidate,
  keys: ReadonlyMap<string, VerifyingKey>,
  threshold: number,
  whose: string,
): void {
  try {
    verifyEnvelope(candidate.envelope, keys, threshold, payloadTypeOf('root'));
  } catch (error) {
    if (error instanceof UnknownKeyError || error instanceof ThresholdNotMetError) {
      throw new ThresholdNotMetError(
        `Root version ${candidate.payload.version} is not signed by ${threshold} of ${whose}.`,
        { cause: error },
      );
    }
    throw error;
  }
}
