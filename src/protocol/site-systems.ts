import { z } from 'zod';
import { publicKeyRecordSchema } from '../trust/index.js';

/**
 * What site systems on their own hosts (management points and distribution points installed with
 * `steward mp install` / `steward dp install`) exchange with their site server
 * (docs/scale-out.md). Agents never use these paths. Signed documents travel as encoded envelopes.
 */
export const siteSystemPaths = {
  /** GET: the root chain, the site certificates and the hierarchy TLS CA (public). */
  trust: '/site-systems/v1/trust',
  /** POST: install with a one-time site system token (proof of the token, no secret on the wire). */
  install: '/site-systems/v1/install',
  /** GET (signed): the package versions a distribution point should hold. */
  content: '/site-systems/v1/content',
  /** POST (signed): health and content state of the calling site system. */
  status: '/site-systems/v1/status',
  /** POST (signed): an agent's TLS client certificate request, relayed by a management point. */
  clientCertificate: (clientId: string) => `/site-systems/v1/client-certificates/${clientId}`,
} as const;

/** The header carrying a signed `site-system-request` (its encoded envelope, base64url). */
export const siteSystemRequestHeader = 'x-steward-site-system';

export const siteSystemRoleSchema = z.enum(['management-point', 'distribution-point']);
export type SiteSystemRole = z.output<typeof siteSystemRoleSchema>;

/** A site system's name: what `--name` gives, like `ABC-MP2` or `dp-branch-4`. */
export const siteSystemNameSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be letters, digits and . _ - starting with a letter or digit');

const envelopeText = z
  .string()
  .min(2)
  .max(1024 * 1024);
const pem = z
  .string()
  .min(1)
  .max(64 * 1024);
const httpUrl = z
  .url({ protocol: /^https?$/ })
  .max(2048)
  .refine((text) => {
    const url = new URL(text);
    return url.username === '' && url.password === '' && url.search === '' && url.hash === '';
  }, 'must be an http(s) URL without credentials, query or fragment');

/** GET /site-systems/v1/trust. */
export const siteSystemTrustSchema = z.strictObject({
  siteCode: z.string().regex(/^[A-Z0-9]{3}$/),
  rootChain: z.array(envelopeText).min(1).max(64),
  siteCertificates: z.array(envelopeText).min(1).max(32),
  tlsCaCertificate: pem.optional(),
  tlsCaEndorsement: envelopeText.optional(),
});
export type SiteSystemTrust = z.output<typeof siteSystemTrustSchema>;

/** POST /site-systems/v1/install. */
export const installRequestSchema = z.strictObject({
  tokenId: z.string().regex(/^[0-9a-f]{32}$/),
  role: siteSystemRoleSchema,
  name: siteSystemNameSchema,
  urls: z.array(httpUrl).min(1).max(8),
  systemKey: publicKeyRecordSchema,
  /** The TLS key to certify for serving HTTPS: ECDSA P-256 SubjectPublicKeyInfo DER, base64. */
  tlsPublicKey: z.string().max(512).nullable(),
  /** HMAC of the token over name, URLs and keys (trust/site-system-proof.ts). */
  proof: z.string().regex(/^[0-9a-f]{64}$/),
});
export type InstallRequest = z.output<typeof installRequestSchema>;

export const installAnswerSchema = siteSystemTrustSchema.extend({
  systemId: z.string().max(300),
  /** A management point's root-signed mp-certificate; null for a distribution point. */
  mpCertificate: envelopeText.nullable(),
  /** The server certificate for `tlsPublicKey` from the hierarchy CA, or null. */
  tlsCertificate: pem.nullable(),
});
export type InstallAnswer = z.output<typeof installAnswerSchema>;

const packageVersion = z.strictObject({
  packageId: z.string().min(1).max(128),
  version: z.string().min(1).max(128),
  manifestHash: z.string().regex(/^[0-9a-f]{64}$/),
});

/** GET /site-systems/v1/content. */
export const contentListSchema = z.strictObject({
  /** Where to pull content from (the site server's distribution point endpoint). */
  sourceUrl: httpUrl,
  items: z.array(packageVersion).max(20_000),
});
export type ContentList = z.output<typeof contentListSchema>;

/** POST /site-systems/v1/status. */
export const siteSystemStatusSchema = z.strictObject({
  health: z.enum(['ok', 'degraded']),
  detail: z.string().max(1000),
  /** A distribution point's content, every version it was told to hold. */
  content: z
    .array(
      z.strictObject({
        packageId: z.string().min(1).max(128),
        version: z.string().min(1).max(128),
        state: z.enum(['present', 'pending', 'failed']),
        detail: z.string().max(1000),
      }),
    )
    .max(20_000)
    .nullable(),
});
export type SiteSystemStatus = z.output<typeof siteSystemStatusSchema>;
