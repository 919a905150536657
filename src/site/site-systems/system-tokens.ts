import { z } from 'zod';
import { randomId, randomToken, siteSystemProofKey } from '../../trust/index.js';
import type { SiteDb } from '../database/site-db.js';
import type { SiteSystemRole } from '../../protocol/index.js';
import {
  SiteSystemTokenExpiredError,
  SiteSystemTokenInvalidError,
  SiteSystemTokenUsedError,
} from './site-system-errors.js';

/**
 * Site system tokens (docs/scale-out.md): issued at the site (`steward site system-token`), one
 * use, expiring, for one role. The token text carries what the installer needs to check the site
 * before it trusts anything it answers (the site code and the full root key id: the install answer
 * must chain to that root) and a secret. The site keeps only the SHA-256 of the secret, which is the
 * key of the install proof (trust/site-system-proof.ts): the secret itself never travels again.
 */
export const siteSystemTokenPrefix = 'sst1.';

const tokenSchema = z.strictObject({
  tokenId: z.string().regex(/^[0-9a-f]{32}$/),
  siteUrl: z.url().max(2048),
  siteCode: z.string().regex(/^[A-Z0-9]{3}$/),
  rootKeyId: z.string().regex(/^[0-9a-f]{64}$/),
  role: z.enum(['management-point', 'distribution-point']),
  secret: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  expiresAt: z.iso.datetime(),
});

export type SiteSystemToken = z.output<typeof tokenSchema>;

export function encodeSiteSystemToken(token: SiteSystemToken): string {
  return `${siteSystemTokenPrefix}${Buffer.from(JSON.stringify(token), 'utf8').toString('base64url')}`;
}

/** Reads a token's text (C6: bounded before decoding); ERR_SITE_SYSTEM_TOKEN_INVALID otherwise. */
export function decodeSiteSystemToken(text: string): SiteSystemToken {
  const trimmed = text.trim();
  if (!trimmed.startsWith(siteSystemTokenPrefix) || trimmed.length > 4096) {
    throw new SiteSystemTokenInvalidError(
      `a site system token starts with ${siteSystemTokenPrefix} (use the text \`steward site system-token\` printed)`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(trimmed.slice(siteSystemTokenPrefix.length), 'base64url').toString('utf8'));
  } catch (cause) {
    throw new SiteSystemTokenInvalidError('the site system token is damaged (not base64url JSON)', { cause });
  }
  const parsed = tokenSchema.safeParse(json);
  if (!parsed.success)
    throw new SiteSystemTokenInvalidError('the site system token is damaged or of another version');
  return parsed.data;
}

export interface IssuedSiteSystemToken {
  id: string;
  token: string;
  role: SiteSystemRole;
  expiresAt: Date;
}

/** Issues a token at this site; only the secret's hash is stored. */
export async function createSiteSystemToken(
  db: SiteDb,
  input: {
    siteUrl: string;
    siteCode: string;
    rootKeyId: string;
    role: SiteSystemRole;
    validHours: number;
    description: string;
    createdBy: string;
    now: Date;
  },
): Promise<IssuedSiteSystemToken> {
  const id = randomId();
  const secret = randomToken(32);
  const expiresAt = new Date(input.now.getTime() + input.validHours * 3600 * 1000);
  await db
    .insertInto('site_system_tokens')
    .values({
      id,
      secret_hash: siteSystemProofKey(secret),
      role: input.role,
      description: input.description,
      created_by: input.createdBy,
      created_at: input.now,
      expires_at: expiresAt,
      used_at: null,
      used_by: null,
    })
    .execute();
  const token = encodeSiteSystemToken({
    tokenId: id,
    siteUrl: input.siteUrl,
    siteCode: input.siteCode,
    rootKeyId: input.rootKeyId,
    role: input.role,
    secret,
    expiresAt: expiresAt.toISOString(),
  });
  return { id, token, role: input.role, expiresAt };
}

/**
 * Finds the token of an install and marks it used by `systemId`, inside the caller's transaction
 * (a failed certification rolls the use back). `checkProof` receives the proof key and throws when
 * the proof fails. The proof is checked before anything else is said about the token, so a forger
 * learns nothing (ERR_SITE_SYSTEM_TOKEN_INVALID); then ERR_SITE_SYSTEM_TOKEN_USED,
 * ERR_SITE_SYSTEM_TOKEN_EXPIRED, and a token for another role is invalid.
 */
export async function consumeSiteSystemToken(
  db: SiteDb,
  input: { tokenId: string; role: SiteSystemRole; systemId: string; now: Date },
  checkProof: (proofKey: string) => void,
): Promise<void> {
  const row = await db
    .selectFrom('site_system_tokens')
    .selectAll()
    .where('id', '=', input.tokenId)
    .forUpdate()
    .executeTakeFirst();
  if (row === undefined) throw new SiteSystemTokenInvalidError('no such site system token was issued here');
  try {
    checkProof(row.secret_hash);
  } catch (cause) {
    throw new SiteSystemTokenInvalidError(
      'the install proof does not verify: the token is forged or altered, or the request was changed on the way',
      { cause },
    );
  }
  if (row.used_at !== null) {
    throw new SiteSystemTokenUsedError(
      `this site system token was used already (by ${row.used_by ?? '?'}); issue a new one`,
    );
  }
  if (new Date(row.expires_at).getTime() <= input.now.getTime()) {
    throw new SiteSystemTokenExpiredError(
      `this site system token expired at ${new Date(row.expires_at).toISOString()}; issue a new one`,
    );
  }
  if (row.role !== input.role) {
    throw new SiteSystemTokenInvalidError(`this site system token is for a ${row.role}, not a ${input.role}`);
  }
  await db
    .updateTable('site_system_tokens')
    .set({ used_at: input.now, used_by: input.systemId })
    .where('id', '=', input.tokenId)
    .execute();
}

export async function listSiteSystemTokens(db: SiteDb) {
  return db
    .selectFrom('site_system_tokens')
    .select(['id', 'role', 'description', 'created_by', 'created_at', 'expires_at', 'used_at', 'used_by'])
    .orderBy('created_at', 'desc')
    .execute();
}
