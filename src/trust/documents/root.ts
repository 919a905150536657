/**
 * `root`: the root public keys and how many of them must sign (DESIGN.md section 2). Version N+1 is
 * trusted only when signed by a threshold of version N's keys and of its own (rotation.ts, C1).
 */
import { z } from 'zod';
import { publicKeyRecordSchema } from '../public-key-record.js';
import { isoTime, positiveInteger, uniqueBy, validityOrder } from './fields.js';

export const maxRootKeys = 16;

export const rootSchema = z
  .strictObject({
    kind: z.literal('root'),
    version: positiveInteger,
    issuedAt: isoTime,
    expiresAt: isoTime,
    threshold: z.number().int().min(1).max(maxRootKeys),
    keys: z
      .array(publicKeyRecordSchema)
      .min(1)
      .max(maxRootKeys)
      .superRefine(uniqueBy((key) => key.keyId, 'root key')),
  })
  .superRefine(validityOrder)
  .superRefine((root, context) => {
    if (root.threshold > root.keys.length) {
      context.addIssue({
        code: 'custom',
        path: ['threshold'],
        message: 'must not exceed the number of keys',
      });
    }
  });

export type RootPayload = z.output<typeof rootSchema>;
