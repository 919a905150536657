/**
 * `site-system-request`: a management point or distribution point on its own host speaks to its
 * site server (docs/scale-out.md): it lists content, reports its state and health, relays client
 * certificate requests. Each request is signed by the site system's own key (recorded at the site
 * when it was installed with a one-time token) and names the exact method, path and SHA-256 of the
 * body it authorises, so a captured signature authorises nothing else. Short-lived: at most five
 * minutes, so a replay is bounded; what these requests do is idempotent.
 */
import { z } from 'zod';
import { identifier, isoTime, sha256Field, siteCode, validityOrder } from './fields.js';

/** The longest a site-system request is valid. */
export const maxSiteSystemRequestValidityMs = 5 * 60 * 1000;

export const siteSystemRequestSchema = z
  .strictObject({
    kind: z.literal('site-system-request'),
    version: z.literal(1),
    siteCode,
    role: z.enum(['management-point', 'distribution-point']),
    systemName: identifier(64),
    method: z.enum(['GET', 'POST']),
    path: z
      .string()
      .min(1)
      .max(1024)
      .regex(/^\/[\x21-\x7e]*$/, 'must be an absolute request path of printable characters'),
    bodySha256: sha256Field,
    nonce: z.string().regex(/^[A-Za-z0-9_-]{16,128}$/, 'must be 16 to 128 base64url characters'),
    issuedAt: isoTime,
    expiresAt: isoTime,
  })
  .superRefine(validityOrder)
  .superRefine((payload, context) => {
    if (Date.parse(payload.expiresAt) - Date.parse(payload.issuedAt) > maxSiteSystemRequestValidityMs) {
      context.addIssue({
        code: 'custom',
        path: ['expiresAt'],
        message: 'must be at most five minutes after issuedAt',
      });
    }
  });

export type SiteSystemRequestPayload = z.output<typeof siteSystemRequestSchema>;
