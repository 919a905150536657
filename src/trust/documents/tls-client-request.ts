/**
 * `tls-client-request`: an approved agent asks for a TLS client certificate (docs/tls.md). The
 * request names the agent's TLS public key (an ECDSA P-256 SubjectPublicKeyInfo, base64 DER) and is
 * signed by the agent's registered client key, so the site certifies a TLS key only for the client
 * that holds the registered key (S1 proof of possession; the TLS key itself proves possession in
 * every handshake). Short-lived: expiresAt at most one hour after issuedAt.
 */
import { z } from 'zod';
import { decodeCanonicalBase64 } from '../base64.js';
import { keyIdSchema } from '../public-key-record.js';
import { isoTime, siteCode, validityOrder } from './fields.js';

/** The longest a certificate request is valid. */
export const maxTlsClientRequestValidityMs = 3600 * 1000;

export const tlsClientRequestSchema = z
  .strictObject({
    kind: z.literal('tls-client-request'),
    version: z.literal(1),
    clientId: keyIdSchema,
    siteCode,
    tlsPublicKey: z
      .string()
      .max(512)
      .refine((text) => decodeCanonicalBase64(text) !== undefined, 'must be canonical base64'),
    nonce: z.string().regex(/^[A-Za-z0-9_-]{16,128}$/, 'must be 16 to 128 base64url characters'),
    issuedAt: isoTime,
    expiresAt: isoTime,
  })
  .superRefine(validityOrder)
  .superRefine((payload, context) => {
    if (Date.parse(payload.expiresAt) - Date.parse(payload.issuedAt) > maxTlsClientRequestValidityMs) {
      context.addIssue({
        code: 'custom',
        path: ['expiresAt'],
        message: 'must be at most one hour after issuedAt',
      });
    }
  });

export type TlsClientRequestPayload = z.output<typeof tlsClientRequestSchema>;
