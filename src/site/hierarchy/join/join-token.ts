import { z } from 'zod';
import { randomId, randomToken, sha256Hex } from '../../../trust/index.js';
import type { SiteDb } from '../../database/site-db.js';
import { JoinTokenExpiredError, JoinTokenInvalidError, JoinTokenUsedError } from '../hierarchy-errors.js';
import type { ChildSiteType } from '../hierarchy-schema.js';
import {
  checkStoredToken,
  decodeToken,
  encodeToken,
  type TokenKind,
} from '../../admission/one-time-token.js';

/**
 * Join tokens (DESIGN.md section 2, "Secure key exchange between sites"). Issued at the parent
 * (`steward site join-token`), one use, expiring. The token text carries what the child needs to
 * check the parent before it sends anything (the parent's URL, code and full site key id) and a
 * secret. The parent keeps only the secret's SHA-256, which is also the key of the join proof
 * (trust/join-proof.ts): the secret itself never travels again.
 */
export const joinTokenPrefix = 'stj1.';

const tokenSchema = z.strictObject({
  tokenId: z.string().regex(/^[0-9a-f]{32}$/),
  parentUrl: z.url().max(2048),
  parentCode: z.string().regex(/^[A-Z0-9]{3}$/),
  parentSiteKeyId: z.string().regex(/^[0-9a-f]{64}$/),
  siteType: z.enum(['primary', 'secondary']),
  secret: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  expiresAt: z.iso.datetime(),
});

export type JoinToken = z.output<typeof tokenSchema>;

/** The key of a token's join proofs: SHA-256 of the secret (what the parent stores). */
export function joinProofKey(secret: string): string {
  return sha256Hex(secret);
}

const joinTokenKind: TokenKind<JoinToken> = {
  prefix: joinTokenPrefix,
  name: 'join token',
  issuedBy: '`steward site join-token`',
  schema: tokenSchema,
  errors: {
    invalid: (message, options) => new JoinTokenInvalidError(message, options),
    used: (message) => new JoinTokenUsedError(message),
    expired: (message) => new JoinTokenExpiredError(message),
  },
};

export function encodeJoinToken(token: JoinToken): string {
  return encodeToken(joinTokenKind, token);
}

/** Reads a token's text (C6: bounded before decoding): ERR_JOIN_TOKEN_INVALID when it is not one. */
export function decodeJoinToken(text: string): JoinToken {
  return decodeToken(joinTokenKind, text);
}

export interface IssuedJoinToken {
  id: string;
  token: string;
  siteType: ChildSiteType;
  expiresAt: Date;
}

/** Issues a token at this site (the parent); only the secret's hash is stored. */
export async function createJoinToken(
  db: SiteDb,
  input: {
    parentUrl: string;
    parentCode: string;
    parentSiteKeyId: string;
    siteType: ChildSiteType;
    validHours: number;
    description: string;
    createdBy: string;
    now: Date;
  },
): Promise<IssuedJoinToken> {
  const id = randomId();
  const secret = randomToken(32);
  const expiresAt = new Date(input.now.getTime() + input.validHours * 3600 * 1000);
  await db
    .insertInto('hierarchy_join_tokens')
    .values({
      id,
      secret_hash: joinProofKey(secret),
      site_type: input.siteType,
      description: input.description,
      created_by: input.createdBy,
      created_at: input.now,
      expires_at: expiresAt,
      used_at: null,
      used_by: null,
    })
    .execute();
  const token = encodeJoinToken({
    tokenId: id,
    parentUrl: input.parentUrl,
    parentCode: input.parentCode,
    parentSiteKeyId: input.parentSiteKeyId,
    siteType: input.siteType,
    secret,
    expiresAt: expiresAt.toISOString(),
  });
  return { id, token, siteType: input.siteType, expiresAt };
}

/**
 * Finds an unused, unexpired token for a join and marks it used by `childCode`, inside the
 * caller's transaction; `checkProof` receives the proof key and throws when the proof fails.
 * ERR_JOIN_TOKEN_INVALID (unknown, or for another site type), ERR_JOIN_TOKEN_USED,
 * ERR_JOIN_TOKEN_EXPIRED.
 */
export async function consumeJoinToken(
  db: SiteDb,
  input: { tokenId: string; siteType: ChildSiteType; childCode: string; now: Date },
  checkProof: (proofKey: string) => void,
): Promise<void> {
  const row = await db
    .selectFrom('hierarchy_join_tokens')
    .selectAll()
    .where('id', '=', input.tokenId)
    .forUpdate()
    .executeTakeFirst();
  checkStoredToken(joinTokenKind, row, { now: input.now, act: 'join' }, checkProof);
  if (row.site_type !== input.siteType) {
    throw new JoinTokenInvalidError(
      `this join token is for a ${row.site_type} site, not a ${input.siteType} site`,
    );
  }
  await db
    .updateTable('hierarchy_join_tokens')
    .set({ used_at: input.now, used_by: input.childCode })
    .where('id', '=', input.tokenId)
    .execute();
}

export async function listJoinTokens(db: SiteDb) {
  return db
    .selectFrom('hierarchy_join_tokens')
    .select([
      'id',
      'site_type',
      'description',
      'created_by',
      'created_at',
      'expires_at',
      'used_at',
      'used_by',
    ])
    .orderBy('created_at', 'desc')
    .execute();
}
