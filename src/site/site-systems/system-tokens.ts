import { z } from 'zod';
import { randomId, randomToken, siteSystemProofKey } from '../../trust/index.js';
import type { SiteDb } from '../database/site-db.js';
import type { SiteSystemRole } from '../../protocol/index.js';
import type { SecurityMode } from '../security-mode/security-mode.js';
import { ConflictError } from '../site-errors.js';
import {
  SiteSystemCredentialRevokedError,
  SiteSystemTokenExpiredError,
  SiteSystemTokenInvalidError,
  SiteSystemTokenUsedError,
} from './site-system-errors.js';
import { checkStoredToken, decodeToken, encodeToken, type TokenKind } from '../admission/one-time-token.js';

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
  /** `any`: standard mode's shared credential, which installs either role. */
  role: z.enum(['management-point', 'distribution-point', 'any']),
  secret: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  expiresAt: z.iso.datetime(),
});

export type SiteSystemToken = z.output<typeof tokenSchema>;

const siteSystemTokenKind: TokenKind<SiteSystemToken> = {
  prefix: siteSystemTokenPrefix,
  name: 'site system token',
  issuedBy: '`steward site system-token`',
  schema: tokenSchema,
  errors: {
    invalid: (message, options) => new SiteSystemTokenInvalidError(message, options),
    used: (message) => new SiteSystemTokenUsedError(message),
    expired: (message) => new SiteSystemTokenExpiredError(message),
  },
};

export function encodeSiteSystemToken(token: SiteSystemToken): string {
  return encodeToken(siteSystemTokenKind, token);
}

/** Reads a token's text (C6: bounded before decoding); ERR_SITE_SYSTEM_TOKEN_INVALID otherwise. */
export function decodeSiteSystemToken(text: string): SiteSystemToken {
  return decodeToken(siteSystemTokenKind, text);
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

/** How long standard mode's shared credential is valid: long-lived, as a service account is. */
export const sharedCredentialValidDays = 5 * 365;

export interface IssuedSharedCredential {
  id: string;
  token: string;
  role: 'any';
  expiresAt: Date;
}

/**
 * Standard security mode (docs/audit.md, "Security modes"): the site's one shared site-system
 * credential, issued once and reusable by any number of management points and distribution points
 * until revoked. Only the SHA-256 of its secret is kept, so it is shown once, when issued; a second
 * request is refused (ERR_CONFLICT) unless `replace` is set, which revokes the current one first
 * (systems installed with it keep their own keys and certificates).
 */
export async function issueSharedCredential(
  db: SiteDb,
  input: {
    siteUrl: string;
    siteCode: string;
    rootKeyId: string;
    replace: boolean;
    createdBy: string;
    now: Date;
  },
): Promise<IssuedSharedCredential & { replaced: string | null }> {
  const current = await db
    .selectFrom('site_system_shared_credentials')
    .select(['id', 'created_at', 'created_by'])
    .where('revoked_at', 'is', null)
    .forUpdate()
    .executeTakeFirst();
  if (current !== undefined && !input.replace) {
    throw new ConflictError(
      `the shared site-system credential was issued already (${new Date(current.created_at).toISOString()}, by ` +
        `${current.created_by}); the site keeps only its hash, so it cannot be shown again: use the text you kept, ` +
        'or issue a new one with --replace-shared (the current one is revoked)',
    );
  }
  if (current !== undefined) {
    await db
      .updateTable('site_system_shared_credentials')
      .set({ revoked_at: input.now })
      .where('id', '=', current.id)
      .execute();
  }
  const id = randomId();
  const secret = randomToken(32);
  const expiresAt = new Date(input.now.getTime() + sharedCredentialValidDays * 24 * 3600 * 1000);
  await db
    .insertInto('site_system_shared_credentials')
    .values({
      id,
      secret_hash: siteSystemProofKey(secret),
      created_by: input.createdBy,
      created_at: input.now,
      expires_at: expiresAt,
      revoked_at: null,
    })
    .execute();
  const token = encodeSiteSystemToken({
    tokenId: id,
    siteUrl: input.siteUrl,
    siteCode: input.siteCode,
    rootKeyId: input.rootKeyId,
    role: 'any',
    secret,
    expiresAt: expiresAt.toISOString(),
  });
  return { id, token, role: 'any', expiresAt, replaced: current?.id ?? null };
}

/** Revokes the shared credential (switching to advanced security); the number revoked. */
export async function revokeSharedCredentials(db: SiteDb, now: Date): Promise<number> {
  const revoked = await db
    .updateTable('site_system_shared_credentials')
    .set({ revoked_at: now })
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(revoked.numUpdatedRows);
}

/**
 * Admits an install, inside the caller's transaction: by a one-time token (consumeSiteSystemToken),
 * or by standard mode's shared credential. The shared credential is accepted only while the site
 * runs in standard mode and the credential is not revoked (ERR_SITE_SYSTEM_CREDENTIAL_REVOKED);
 * its proof is checked first, as a token's is. Returns what admitted the system.
 */
export async function admitSiteSystem(
  db: SiteDb,
  input: { tokenId: string; role: SiteSystemRole; systemId: string; now: Date; securityMode: SecurityMode },
  checkProof: (proofKey: string) => void,
): Promise<'token' | 'shared-credential'> {
  const shared = await db
    .selectFrom('site_system_shared_credentials')
    .selectAll()
    .where('id', '=', input.tokenId)
    .executeTakeFirst();
  if (shared === undefined) {
    await consumeSiteSystemToken(db, input, checkProof);
    return 'token';
  }
  try {
    checkProof(shared.secret_hash);
  } catch (cause) {
    throw new SiteSystemTokenInvalidError(
      'the install proof does not verify: the credential is forged or altered, or the request was changed on the way',
      { cause },
    );
  }
  if (shared.revoked_at !== null || input.securityMode !== 'standard') {
    throw new SiteSystemCredentialRevokedError(
      'the shared site-system credential is revoked (the site uses advanced security, or it was replaced); ' +
        'install with a one-time token of its own: steward site system-token --role mp|dp',
    );
  }
  if (new Date(shared.expires_at).getTime() <= input.now.getTime()) {
    throw new SiteSystemTokenExpiredError(
      `the shared site-system credential expired at ${new Date(shared.expires_at).toISOString()}; issue a new one`,
    );
  }
  return 'shared-credential';
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
  checkStoredToken(siteSystemTokenKind, row, { now: input.now, act: 'install' }, checkProof);
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
