/**
 * `client-registration`: an agent's key and identity, signed by that same key as proof of
 * possession (S1). The client id is the key id of clientKey.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { publicKeyRecordSchema } from '../public-key-record.js';
import { isoTime, siteCode, uniqueBy, validityOrder } from './fields.js';

export const clientRegistrationSchema = z
  .strictObject({
    kind: z.literal('client-registration'),
    version: z.literal(1),
    clientKey: publicKeyRecordSchema,
    siteCode,
    hostname: z
      .string()
      .max(253)
      .regex(/^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/, 'must be a host name'),
    addresses: z
      .array(
        z
          .string()
          .max(64)
          .refine((address) => isIP(address) !== 0, 'must be an IP address'),
      )
      .max(64)
      .superRefine(uniqueBy((address) => address, 'address')),
    mode: z.enum(['secure', 'directory-only', 'trust-on-first-use']),
    rootSource: z.enum(['pinned', 'directory', 'first-use']),
    enrolmentToken: z
      .string()
      .min(1)
      .max(256)
      .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII')
      .nullable(),
    nonce: z.string().regex(/^[A-Za-z0-9_-]{16,128}$/, 'must be 16 to 128 base64url characters'),
    issuedAt: isoTime,
    expiresAt: isoTime,
  })
  .superRefine(validityOrder);

export type ClientRegistrationPayload = z.output<typeof clientRegistrationSchema>;
