/**
 * DSSE v1, the Dead Simple Signing Envelope (github.com/secure-systems-lab/dsse, envelope.md and
 * protocol.md), exactly: signatures are over PAE(payloadType, payload), never over re-encoded JSON.
 * Parsing enforces the byte limit before JSON.parse (C6) and a strict schema; verification lives in
 * envelope-verify.ts.
 */
import { z } from 'zod';
import { algorithms } from './algorithms.js';
import { decodeCanonicalBase64, encodeBase64, isCanonicalBase64 } from './base64.js';
import type { SigningKey } from './keys.js';
import { keyIdSchema } from './public-key-record.js';
import { describeIssues } from './schema-parse.js';
import { EnvelopeInvalidError, TooLargeError } from './trust-errors.js';

/** A DSSE envelope as it travels. */
export type Envelope = {
  payloadType: string;
  payload: string;
  signatures: { keyid: string; sig: string }[];
};

/** C6 limits applied when an envelope is parsed. */
export type EnvelopeLimits = { maxBytes?: number; maxSignatures?: number };

/** Default C6 limits: 1 MiB of envelope text, 16 signatures. */
export const defaultEnvelopeLimits = { maxBytes: 1024 * 1024, maxSignatures: 16 } as const;

/** Longest payload type accepted. */
export const maxPayloadTypeLength = 128;

const encoder = new TextEncoder();

/** PAE: `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, LEN the ASCII decimal byte length. */
export function pae(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = encoder.encode(payloadType);
  const header = encoder.encode(`DSSEv1 ${type.byteLength} `);
  const middle = encoder.encode(` ${payload.byteLength} `);
  const out = new Uint8Array(header.byteLength + type.byteLength + middle.byteLength + payload.byteLength);
  out.set(header, 0);
  out.set(type, header.byteLength);
  out.set(middle, header.byteLength + type.byteLength);
  out.set(payload, header.byteLength + type.byteLength + middle.byteLength);
  return out;
}

/** Signs payload bytes with every signer (in order) into a DSSE envelope. */
export function signEnvelope(
  payloadType: string,
  payload: Uint8Array,
  signers: readonly SigningKey[],
): Envelope {
  if (signers.length === 0) throw new RangeError('signEnvelope: at least one signer is required');
  const message = pae(payloadType, payload);
  return {
    payloadType,
    payload: encodeBase64(payload),
    signatures: signers.map((signer) => ({ keyid: signer.keyId, sig: encodeBase64(signer.sign(message)) })),
  };
}

/** The envelope as JSON text, keys in the order payloadType, payload, signatures (keyid, sig). */
export function encodeEnvelope(envelope: Envelope): string {
  return JSON.stringify({
    payloadType: envelope.payloadType,
    payload: envelope.payload,
    signatures: envelope.signatures.map(({ keyid, sig }) => ({ keyid, sig })),
  });
}

const maxSigLength = 4 * Math.ceil(algorithms.signature.signatureBytes / 3);

/**
 * Building a zod schema costs far more than running one (about 200 µs against a few), and every
 * report, poll answer and document passes through here: one schema per signature limit, built
 * once. Only a handful of limits exist in the code, so the cache stays tiny.
 */
const envelopeSchemas = new Map<number, ReturnType<typeof buildEnvelopeSchema>>();

function envelopeSchema(maxSignatures: number) {
  let schema = envelopeSchemas.get(maxSignatures);
  if (schema === undefined) {
    schema = buildEnvelopeSchema(maxSignatures);
    envelopeSchemas.set(maxSignatures, schema);
  }
  return schema;
}

function buildEnvelopeSchema(maxSignatures: number) {
  return z.strictObject({
    payloadType: z
      .string()
      .min(1)
      .max(maxPayloadTypeLength)
      .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces'),
    payload: z.string().refine(isCanonicalBase64, 'must be canonical standard base64'),
    signatures: z
      .array(
        z.strictObject({
          keyid: keyIdSchema,
          sig: z
            .string()
            .min(1)
            .max(maxSigLength)
            .refine(isCanonicalBase64, 'must be canonical standard base64'),
        }),
      )
      .min(1)
      .max(maxSignatures),
  });
}

function byteLengthOf(input: string | Uint8Array): number {
  return typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.byteLength;
}

/**
 * Parses envelope text: byte length first (ERR_TOO_LARGE), then UTF-8 and JSON, then the strict
 * schema (ERR_ENVELOPE_INVALID). Unknown fields, non-canonical base64 and malformed key ids are refused.
 */
export function parseEnvelope(input: string | Uint8Array, limits: EnvelopeLimits = {}): Envelope {
  const maxBytes = limits.maxBytes ?? defaultEnvelopeLimits.maxBytes;
  const maxSignatures = limits.maxSignatures ?? defaultEnvelopeLimits.maxSignatures;
  const size = byteLengthOf(input);
  if (size > maxBytes) {
    throw new TooLargeError(`The signed envelope is ${size} bytes; the limit is ${maxBytes}.`);
  }
  let json: unknown;
  try {
    const text = typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: true }).decode(input);
    json = JSON.parse(text);
  } catch (cause) {
    throw new EnvelopeInvalidError('The signed envelope is not valid UTF-8 JSON.', { cause });
  }
  const result = envelopeSchema(maxSignatures).safeParse(json);
  if (!result.success) {
    throw new EnvelopeInvalidError(`The signed envelope is malformed: ${describeIssues(result.error)}.`);
  }
  return result.data;
}

/** Decoded payload bytes of a parsed envelope. */
export function envelopePayloadBytes(envelope: Envelope): Uint8Array {
  const bytes = decodeCanonicalBase64(envelope.payload);
  if (bytes === undefined) throw new EnvelopeInvalidError('The envelope payload is not canonical base64.');
  return bytes;
}
