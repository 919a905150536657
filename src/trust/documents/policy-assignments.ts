/**
 * `policy-assignments`: for one client, the policy bodies in force with their hashes, under a
 * monotonically increasing sequence and an expiry; signed by an MP key (C3).
 */
import { z } from 'zod';
import { keyIdSchema } from '../public-key-record.js';
import {
  displayText,
  identifier,
  isoTime,
  positiveInteger,
  sha256Field,
  siteCode,
  uniqueBy,
  validityOrder,
} from './fields.js';

export const maxAssignments = 1000;

export const policyAssignmentsSchema = z
  .strictObject({
    kind: z.literal('policy-assignments'),
    sequence: positiveInteger,
    clientId: keyIdSchema,
    siteCode,
    mpName: displayText(256),
    assignments: z
      .array(
        z.strictObject({
          policyId: identifier(),
          version: positiveInteger,
          /** SHA-256 of the policy-body payload bytes (C4). */
          hash: sha256Field,
        }),
      )
      .max(maxAssignments)
      .superRefine(uniqueBy((assignment) => assignment.policyId, 'policyId')),
    issuedAt: isoTime,
    expiresAt: isoTime,
  })
  .superRefine(validityOrder);

export type PolicyAssignmentsPayload = z.output<typeof policyAssignmentsSchema>;
