import { z } from 'zod';
import {
  envelopePayloadBytes,
  openDocument,
  parsePayload,
  PayloadInvalidError,
  publicKeyFromRecord,
  readEnvelope,
  signDocument,
  trustRootFromPin,
  trustRootOnFirstUse,
  verifySiteCertificate,
  WrongRecipientError,
  type PublicKeyRecord,
  type SigningKey,
  type SiteCertificatePayload,
  type TrustedRoot,
  type VerifiedCertificate,
  type VerifyingKey,
} from '../../../trust/index.js';
import { ParentKeyMismatchError } from '../hierarchy-errors.js';
import { siteTlsRequestSchema } from '../records.js';
import { certificateFields } from '../site-trust.js';

/**
 * The three signed documents of a join (docs/spec/hierarchy.md, "Joining"), each a `site-message`
 * with one record: the parent's identity (signed by the parent's site key over the child's nonce:
 * the child checks the key against the join token before it sends anything), the join request
 * (signed by the child's new site key: proof of possession, carrying the join proof), and the join
 * result (signed by the parent's site key: the certificates the root issued).
 */
const envelopeText = z
  .string()
  .min(2)
  .max(1024 * 1024);
const keyRecord = z.strictObject({
  keyId: z.string().regex(/^[0-9a-f]{64}$/),
  publicKey: z.string().max(64),
});
const siteCode = z.string().regex(/^[A-Z0-9]{3}$/);
const nonce = z.string().regex(/^[A-Za-z0-9_-]{16,128}$/);
const validityMs = 10 * 60_000;

/** The sequence of every join document; receivers also refuse join record types on links. */
export const joinDocumentSequence = Number.MAX_SAFE_INTEGER;
export const joinRecordTypes: ReadonlySet<string> = new Set(['site-identity', 'join-request', 'join-answer']);

export const identityBodySchema = z.strictObject({
  nonce,
  siteCode,
  siteName: z.string().min(1).max(256),
  siteType: z.enum(['central', 'primary', 'secondary']),
  url: z.url().max(2048),
  siteCertificate: envelopeText,
  rootChain: z.array(envelopeText).min(1).max(64),
  /** Site certificates of the parent's ancestors. */
  certificates: z.array(envelopeText).max(32),
});
export type IdentityBody = z.output<typeof identityBodySchema>;

export const joinRequestBodySchema = z.strictObject({
  /** Null only for automatic key exchange (no token; the parent must allow it). */
  tokenId: z
    .string()
    .regex(/^[0-9a-f]{32}$/)
    .nullable(),
  proof: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .nullable(),
  siteCode,
  siteName: z.string().min(1).max(256),
  siteType: z.enum(['primary', 'secondary']),
  siteKey: keyRecord,
  mpKey: keyRecord.nullable(),
  url: z.url().max(2048),
  nonce,
  /** The child's TLS public key and names, for its site server certificate (docs/tls.md). */
  tls: siteTlsRequestSchema.optional(),
});
export type JoinRequestBody = z.output<typeof joinRequestBodySchema>;

export const joinResultBodySchema = z.strictObject({
  joinId: z.string().max(64),
  state: z.enum(['certified', 'refused']),
  error: z.string().max(1000).nullable(),
  siteCertificate: envelopeText.nullable(),
  mpCertificate: envelopeText.nullable(),
  rootChain: z.array(envelopeText).max(64),
  /** Site certificates of the parent and its ancestors. */
  certificates: z.array(envelopeText).max(32),
  parent: z.strictObject({
    code: siteCode,
    name: z.string().max(256),
    siteType: z.enum(['central', 'primary', 'secondary']),
    url: z.url().max(2048),
  }),
  /** The child's site server certificate, the hierarchy CA and the root's endorsement of it. */
  tls: z
    .strictObject({
      certificate: z.string().max(64 * 1024),
      caCertificate: z.string().max(64 * 1024),
      caEndorsement: envelopeText,
    })
    .optional(),
});
export type JoinResultBody = z.output<typeof joinResultBodySchema>;

function oneRecordMessage(
  type: string,
  body: Record<string, unknown>,
  fromSite: string,
  toSite: string,
  key: SigningKey,
  now: Date,
): string {
  return signDocument(
    {
      kind: 'site-message',
      // Never a link's next sequence: a join document replayed to a link is refused as a gap.
      sequence: joinDocumentSequence,
      fromSite,
      toSite,
      records: [{ recordId: type, type, body }],
      issuedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + validityMs).toISOString(),
    },
    [key],
  ).encoded;
}

function readOneRecord<T extends z.ZodType>(
  text: string,
  type: string,
  schema: T,
): {
  envelope: ReturnType<typeof readEnvelope>;
  fromSite: string;
  toSite: string;
  issuedAt: string;
  body: z.output<T>;
} {
  const envelope = readEnvelope('site-message', text, { maxBytes: 8 * 1024 * 1024 });
  const claimed = parsePayload('site-message', envelopePayloadBytes(envelope));
  const record = claimed.records.find((r) => r.type === type);
  const parsed = schema.safeParse(record?.body);
  if (record === undefined || !parsed.success) {
    throw new PayloadInvalidError(`the site message carries no valid ${type} record`);
  }
  return {
    envelope,
    fromSite: claimed.fromSite,
    toSite: claimed.toSite,
    issuedAt: claimed.issuedAt,
    body: parsed.data,
  };
}

// ---- the parent's identity ----

export function signIdentity(body: IdentityBody, siteKey: SigningKey, childCode: string, now: Date): string {
  return oneRecordMessage('site-identity', body, body.siteCode, childCode, siteKey, now);
}

export interface VerifiedParent {
  root: TrustedRoot;
  certificate: VerifiedCertificate<SiteCertificatePayload>;
  key: VerifyingKey;
  ancestors: VerifiedCertificate<SiteCertificatePayload>[];
  body: IdentityBody;
}

/**
 * The child's check of the parent, before it sends anything: the identity must be signed by the
 * site key the join token names (ERR_PARENT_KEY_MISMATCH for another key; ERR_SIGNATURE_INVALID),
 * over the child's own nonce and code (ERR_WRONG_RECIPIENT: a replayed identity); the root chain
 * offered must certify that key for that site (C1, C2), and contain `rootPin` when one is given.
 * Without a token (`parentSiteKeyId` null: automatic key exchange) the key is trusted on first use.
 */
export function verifyParentIdentity(
  text: string,
  expected: {
    parentCode: string | null;
    parentSiteKeyId: string | null;
    childCode: string;
    nonce: string;
    rootPin: string | null;
  },
  now: Date,
): VerifiedParent {
  const { envelope, body } = readOneRecord(text, 'site-identity', identityBodySchema);
  const claimedCertificate = certificateFields(body.siteCertificate);
  const keyRecordOffered: PublicKeyRecord = claimedCertificate.siteKey;
  if (expected.parentSiteKeyId !== null && keyRecordOffered.keyId !== expected.parentSiteKeyId) {
    throw new ParentKeyMismatchError(
      `the site at this URL holds site key ${keyRecordOffered.keyId.slice(0, 32)}…, not the key ` +
        `${expected.parentSiteKeyId.slice(0, 32)}… the join token names; nothing was sent to it`,
    );
  }
  const key = publicKeyFromRecord(keyRecordOffered);
  const opened = openDocument('site-message', envelope, [key], 1, now, { maxBytes: 8 * 1024 * 1024 });
  const payload = opened.payload;
  if (
    payload.toSite !== expected.childCode ||
    body.nonce !== expected.nonce ||
    payload.fromSite !== body.siteCode ||
    (expected.parentCode !== null && body.siteCode !== expected.parentCode)
  ) {
    throw new WrongRecipientError('the parent identity answers another request (nonce, site code)');
  }
  const root =
    expected.rootPin === null
      ? trustRootOnFirstUse(body.rootChain, now)
      : trustRootFromPin(body.rootChain, expected.rootPin, now);
  const certificate = verifySiteCertificate(body.siteCertificate, root, now, body.siteCode);
  if (certificate.key.keyId !== key.keyId) {
    throw new ParentKeyMismatchError('the parent certificate certifies another key than the one that signed');
  }
  const ancestors = body.certificates.map((envelopeText) => verifySiteCertificate(envelopeText, root, now));
  return { root, certificate, key, ancestors, body };
}

// ---- the join request ----

export function signJoinRequest(
  body: JoinRequestBody,
  siteKey: SigningKey,
  parentCode: string,
  now: Date,
): string {
  return oneRecordMessage('join-request', body, body.siteCode, parentCode, siteKey, now);
}

/**
 * Proof of possession: the request must be signed by the site key it asks to certify (the key is
 * read from the request only to check that very signature: ERR_UNKNOWN_KEY for another key), in
 * date, and from the site it names.
 */
export function verifyJoinRequest(
  text: string,
  now: Date | 'as-issued',
): { body: JoinRequestBody; toSite: string; siteKey: VerifyingKey } {
  const { envelope, body, issuedAt } = readOneRecord(text, 'join-request', joinRequestBodySchema);
  const siteKey = publicKeyFromRecord(body.siteKey);
  // 'as-issued': a request checked before (stored, or relayed up a link that S3 authenticates) is
  // verified again in full, but its dates are judged at the time it was made.
  const at = now === 'as-issued' ? new Date(Date.parse(issuedAt)) : now;
  const opened = openDocument('site-message', envelope, [siteKey], 1, at);
  if (opened.payload.fromSite !== body.siteCode) {
    throw new PayloadInvalidError('the join request names another site than the one sending it');
  }
  if (body.mpKey !== null) publicKeyFromRecord(body.mpKey);
  return { body, toSite: opened.payload.toSite, siteKey };
}

// ---- the join result ----

export function signJoinResult(
  body: JoinResultBody,
  siteKey: SigningKey,
  childCode: string,
  now: Date,
): string {
  return oneRecordMessage('join-answer', body, body.parent.code, childCode, siteKey, now);
}

/** The child opens the result with the parent key it verified at the start of the join. */
export function verifyJoinResult(
  text: string,
  parentKey: VerifyingKey,
  childCode: string,
  now: Date,
): JoinResultBody {
  const { envelope, body } = readOneRecord(text, 'join-answer', joinResultBodySchema);
  const opened = openDocument('site-message', envelope, [parentKey], 1, now, { maxBytes: 8 * 1024 * 1024 });
  if (opened.payload.toSite !== childCode) {
    throw new WrongRecipientError(`the join result is for site ${opened.payload.toSite}, not ${childCode}`);
  }
  return body;
}
