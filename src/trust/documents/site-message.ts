/**
 * `site-message`: a batch of site-to-site records with a per-link sequence, signed by the sending
 * site's key (S3, enforced by the site layer).
 */
import { z } from 'zod';
import { identifier, isoTime, positiveInteger, siteCode, uniqueBy, validityOrder } from './fields.js';
import { jsonBody } from './json-body.js';

export const maxSiteMessageRecords = 1000;

export const siteMessageSchema = z
  .strictObject({
    kind: z.literal('site-message'),
    sequence: positiveInteger,
    fromSite: siteCode,
    toSite: siteCode,
    records: z
      .array(z.strictObject({ recordId: identifier(), type: identifier(64), body: jsonBody }))
      .min(1)
      .max(maxSiteMessageRecords)
      .superRefine(uniqueBy((record) => record.recordId, 'recordId')),
    issuedAt: isoTime,
    expiresAt: isoTime,
  })
  .superRefine(validityOrder)
  .superRefine((message, context) => {
    if (message.fromSite === message.toSite) {
      context.addIssue({ code: 'custom', path: ['toSite'], message: 'must differ from fromSite' });
    }
  });

export type SiteMessagePayload = z.output<typeof siteMessageSchema>;
