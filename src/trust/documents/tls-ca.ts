/**
 * `tls-ca`: the root's endorsement of the hierarchy's TLS certificate authority (docs/tls.md). It
 * names the CA certificate by the SHA-256 of its DER bytes and its public key by the SHA-256 of its
 * SubjectPublicKeyInfo DER, so a client that holds the root (C1) can validate the CA without any
 * external PKI. The version is the endorsement's serial; a new CA gets a higher one. Signed by a
 * threshold of the root keys; expiresAt is the CA certificate's notAfter.
 */
import { z } from 'zod';
import { isoTime, positiveInteger, sha256Field, siteCode, validityOrder } from './fields.js';

export const tlsCaSchema = z
  .strictObject({
    kind: z.literal('tls-ca'),
    version: positiveInteger,
    caCertificateSha256: sha256Field,
    subjectPublicKeySha256: sha256Field,
    siteCode,
    issuedAt: isoTime,
    expiresAt: isoTime,
  })
  .superRefine(validityOrder);

export type TlsCaPayload = z.output<typeof tlsCaSchema>;
