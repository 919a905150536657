/**
 * `mp-certificate`: a management point's name, site, URLs and key, signed by the root (C2). The
 * version is the certificate's serial number.
 */
import { z } from 'zod';
import { publicKeyRecordSchema } from '../public-key-record.js';
import {
  displayText,
  httpUrl,
  isoTime,
  positiveInteger,
  siteCode,
  uniqueBy,
  validityOrder,
} from './fields.js';

export const mpCertificateSchema = z
  .strictObject({
    kind: z.literal('mp-certificate'),
    version: positiveInteger,
    mpName: displayText(256),
    siteCode,
    urls: z
      .array(httpUrl)
      .min(1)
      .max(8)
      .superRefine(uniqueBy((url) => url, 'URL')),
    mpKey: publicKeyRecordSchema,
    issuedAt: isoTime,
    expiresAt: isoTime,
  })
  .superRefine(validityOrder);

export type MpCertificatePayload = z.output<typeof mpCertificateSchema>;
