/**
 * `locator-answer`: which site serves a client's network and that site's management points, as the
 * server locator point answers it (DESIGN.md section 3), signed by the site key of the site it
 * names. `boundary` is the site boundary (canonical subnet or range) that matched the client; the
 * client checks that one of its own addresses lies inside it (acceptLocatorAnswer, C2 locating).
 * Answers are short-lived: at most one hour between issuedAt and expiresAt.
 */
import { z } from 'zod';
import { isCanonicalBoundary, maxBoundaryTextLength } from '../network-boundary.js';
import { displayText, httpUrl, isoTime, siteCode, uniqueBy, validityOrder } from './fields.js';

/** The longest validity a locator answer may claim. */
export const maxLocatorAnswerValidityMs = 60 * 60 * 1000;

/** Management points in one answer. */
export const maxLocatorManagementPoints = 16;

export const locatorAnswerSchema = z
  .strictObject({
    kind: z.literal('locator-answer'),
    version: z.literal(1),
    siteCode,
    boundary: z
      .string()
      .max(maxBoundaryTextLength)
      .refine(isCanonicalBoundary, 'must be a subnet or range in canonical form'),
    managementPoints: z
      .array(
        z.strictObject({
          name: displayText(256),
          urls: z
            .array(httpUrl)
            .min(1)
            .max(8)
            .superRefine(uniqueBy((url) => url, 'URL')),
        }),
      )
      .min(1)
      .max(maxLocatorManagementPoints)
      .superRefine(uniqueBy((mp) => mp.name, 'management point name')),
    issuedAt: isoTime,
    expiresAt: isoTime,
  })
  .superRefine(validityOrder)
  .superRefine((answer, context) => {
    if (Date.parse(answer.expiresAt) - Date.parse(answer.issuedAt) > maxLocatorAnswerValidityMs) {
      context.addIssue({
        code: 'custom',
        path: ['expiresAt'],
        message: 'must be at most one hour after issuedAt (locator answers are short-lived)',
      });
    }
  });

export type LocatorAnswerPayload = z.output<typeof locatorAnswerSchema>;
