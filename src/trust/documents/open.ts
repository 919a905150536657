/**
 * Signing and opening documents. Bytes become a typed payload one way only, in this order:
 * envelope byte limit and schema (C6), signatures with threshold over the exact bytes, payload byte
 * limit, UTF-8 and JSON, kind, zod schema, then issuedAt (ERR_NOT_YET_VALID) and expiresAt
 * (ERR_EXPIRED) against the caller's fixed "now".
 */
import { sha256Hex } from '../digest.js';
import { encodeEnvelope, parseEnvelope, signEnvelope, type Envelope, type EnvelopeLimits } from '../dsse.js';
import { verifyEnvelope, type TrustedKeys } from '../envelope-verify.js';
import type { SigningKey } from '../keys.js';
import { describeIssues } from '../schema-parse.js';
import { PayloadInvalidError, TooLargeError } from '../trust-errors.js';
import {
  defaultMaxEnvelopeBytes,
  documentSchemas,
  isDocumentKind,
  payloadTypeOf,
  type DocumentInput,
  type DocumentKind,
  type PayloadOf,
} from './kinds.js';
import { checkValidity } from './validity.js';

/** A freshly signed document, ready to store or send. */
export type SignedDocument = { envelope: Envelope; encoded: string; payloadBytes: Uint8Array; hash: string };

/** A verified, parsed, in-date document. `hash` is the SHA-256 of payloadBytes. */
export type OpenedDocument<K extends DocumentKind> = {
  payload: PayloadOf<K>;
  payloadBytes: Uint8Array;
  hash: string;
  envelope: Envelope;
};

/** C6 limits for opening a document; maxBytes defaults per kind (kinds.ts). */
export type DocumentLimits = EnvelopeLimits & { maxPayloadBytes?: number };

/** Validates a payload with its schema, serialises it and signs it with every signer. */
export function signDocument(payload: DocumentInput, signers: readonly SigningKey[]): SignedDocument {
  const kind = payload.kind;
  const result = documentSchemas[kind].safeParse(payload);
  if (!result.success) {
    throw new PayloadInvalidError(
      `Refusing to sign an invalid ${kind} document: ${describeIssues(result.error)}.`,
    );
  }
  const payloadBytes = new TextEncoder().encode(JSON.stringify(result.data));
  const envelope = signEnvelope(payloadTypeOf(kind), payloadBytes, signers);
  return { envelope, encoded: encodeEnvelope(envelope), payloadBytes, hash: sha256Hex(payloadBytes) };
}

/** C6: parses envelope text (or re-checks an envelope object) under the kind's byte limit. */
export function readEnvelope(
  kind: DocumentKind,
  input: Envelope | string | Uint8Array,
  limits: DocumentLimits = {},
): Envelope {
  const text = typeof input === 'string' || input instanceof Uint8Array ? input : JSON.stringify(input);
  return parseEnvelope(text, {
    maxBytes: limits.maxBytes ?? defaultMaxEnvelopeBytes[kind],
    ...(limits.maxSignatures === undefined ? {} : { maxSignatures: limits.maxSignatures }),
  });
}

/**
 * Parses payload bytes as a document of the given kind WITHOUT any signature check: for tests and
 * for reading a field (a version, an embedded key) that is verified right after.
 */
export function parsePayload<K extends DocumentKind>(kind: K, bytes: Uint8Array): PayloadOf<K> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (cause) {
    throw new PayloadInvalidError(`The ${kind} payload is not valid UTF-8 JSON.`, { cause });
  }
  const claimed = typeof json === 'object' && json !== null && 'kind' in json ? json.kind : undefined;
  if (claimed !== kind) {
    const named = typeof claimed === 'string' && isDocumentKind(claimed) ? claimed : 'unknown';
    throw new PayloadInvalidError(`Expected a ${kind} document, received kind ${named}.`);
  }
  const result = documentSchemas[kind].safeParse(json);
  if (!result.success) {
    throw new PayloadInvalidError(`Invalid ${kind} document: ${describeIssues(result.error)}.`);
  }
  return result.data as PayloadOf<K>;
}

/** C6: ERR_TOO_LARGE when verified payload bytes exceed the limit. */
export function checkPayloadSize(kind: DocumentKind, bytes: Uint8Array, limits: DocumentLimits): void {
  const max = limits.maxPayloadBytes ?? limits.maxBytes ?? defaultMaxEnvelopeBytes[kind];
  if (bytes.byteLength > max) {
    throw new TooLargeError(`The ${kind} payload is ${bytes.byteLength} bytes; the limit is ${max}.`);
  }
}

/** Opens a signed document: see the order in this file's header. */
export function openDocument<K extends DocumentKind>(
  kind: K,
  envelope: Envelope | string | Uint8Array,
  trusted: TrustedKeys,
  threshold: number,
  now: Date,
  limits: DocumentLimits = {},
): OpenedDocument<K> {
  const checked = readEnvelope(kind, envelope, limits);
  const payloadBytes = verifyEnvelope(checked, trusted, threshold, payloadTypeOf(kind));
  checkPayloadSize(kind, payloadBytes, limits);
  const payload = parsePayload(kind, payloadBytes);
  checkValidity(payload, now);
  return { payload, payloadBytes, hash: sha256Hex(payloadBytes), envelope: checked };
}
