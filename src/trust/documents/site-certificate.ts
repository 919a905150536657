/**
 * `site-certificate`: a site's code, key, parent and validity, signed by the root (C2, S3). The
 * version is the certificate's serial number.
 */
import { z } from 'zod';
import { publicKeyRecordSchema } from '../public-key-record.js';
import { displayText, isoTime, positiveInteger, siteCode, validityOrder } from './fields.js';

export const siteCertificateSchema = z
  .strictObject({
    kind: z.literal('site-certificate'),
    version: positiveInteger,
    siteCode,
    siteName: displayText(256),
    siteKey: publicKeyRecordSchema,
    parentSiteCode: siteCode.nullable(),
    siteType: z.enum(['central', 'primary', 'secondary']),
    issuedAt: isoTime,
    expiresAt: isoTime,
  })
  .superRefine(validityOrder)
  .superRefine((certificate, context) => {
    const central = certificate.siteType === 'central';
    if (central !== (certificate.parentSiteCode === null)) {
      context.addIssue({
        code: 'custom',
        path: ['parentSiteCode'],
        message: 'must be null for the central site and a site code for every other site',
      });
    }
    if (certificate.parentSiteCode === certificate.siteCode) {
      context.addIssue({ code: 'custom', path: ['parentSiteCode'], message: 'must differ from siteCode' });
    }
  });

export type SiteCertificatePayload = z.output<typeof siteCertificateSchema>;
