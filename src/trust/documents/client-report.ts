/**
 * `client-report`: a heartbeat, inventory or status report, signed by the client key (S2). The
 * sequence increases per client; refusing replays (same messageId, lower sequence) is the site
 * store's job.
 */
import { z } from 'zod';
import { keyIdSchema } from '../public-key-record.js';
import { identifier, isoTime, positiveInteger, siteCode, validityOrder } from './fields.js';
import { jsonBody } from './json-body.js';

export const clientReportSchema = z
  .strictObject({
    kind: z.literal('client-report'),
    sequence: positiveInteger,
    messageId: identifier(),
    clientId: keyIdSchema,
    siteCode,
    reportType: z.enum(['heartbeat', 'inventory', 'status']),
    body: jsonBody,
    issuedAt: isoTime,
    expiresAt: isoTime,
  })
  .superRefine(validityOrder);

export type ClientReportPayload = z.output<typeof clientReportSchema>;
