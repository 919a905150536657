import { constantTimeEqual, randomId, randomToken, sha256Hex } from '../../trust/index.js';
import { InvalidRequestError, NotFoundError } from '../../site/site-errors.js';
import { UnauthenticatedError } from './admin-errors.js';
import { FOREIGN_KEY_VIOLATION, sqlState, type SiteDb } from './database-access.js';
import { principalFor, type AdminPrincipal } from './principal.js';

/** API tokens are `stw_` and 32 random bytes in base64url; only their SHA-256 is stored. */
export const apiTokenPrefix = 'stw_';
const apiTokenPattern = /^stw_[A-Za-z0-9_-]{43}$/;

export const badToken = 'The API token is not valid.';

export interface IssuedApiToken {
  readonly id: string;
  readonly name: string;
  /** The token itself: shown once, never stored. */
  readonly token: string;
  readonly expiresAt: Date | null;
}

export function isApiTokenShaped(text: string): boolean {
  return apiTokenPattern.test(text);
}

export async function issueApiToken(
  db: SiteDb,
  accountId: string,
  options: { readonly name: string; readonly expiresAt?: Date },
  now = new Date(),
): Promise<IssuedApiToken> {
  if (options.name.length === 0 || options.name.length > 128) {
    throw new InvalidRequestError('A token name is 1 to 128 characters.');
  }
  if (options.expiresAt !== undefined && options.expiresAt.getTime() <= now.getTime()) {
    throw new InvalidRequestError('A token must expire in the future.');
  }
  const token = `${apiTokenPrefix}${randomToken(32)}`;
  const id = randomId();
  const expiresAt = options.expiresAt ?? null;
  try {
    await db
      .insertInto('api_tokens')
      .values({
        id,
        account_id: accountId,
        name: options.name,
        token_hash: sha256Hex(token),
        created_at: now,
        expires_at: expiresAt,
        revoked_at: null,
      })
      .execute();
  } catch (error) {
    if (sqlState(error) === FOREIGN_KEY_VIOLATION) {
      throw new NotFoundError(`No admin account with id ${accountId}.`, { cause: error });
    }
    throw error;
  }
  return { id, name: options.name, token, expiresAt };
}

/** Revokes a token; revoking it again keeps the first revocation time. */
export async function revokeApiToken(db: SiteDb, tokenId: string, now = new Date()): Promise<void> {
  const found = await db.selectFrom('api_tokens').select('id').where('id', '=', tokenId).executeTakeFirst();
  if (found === undefined) throw new NotFoundError(`No API token with id ${tokenId}.`);
  await db
    .updateTable('api_tokens')
    .set({ revoked_at: now })
    .where('id', '=', tokenId)
    .where('revoked_at', 'is', null)
    .execute();
}

/** Checks an API token: known, not revoked, not expired, and its account enabled. */
export async function authenticateToken(
  db: SiteDb,
  token: string,
  now = new Date(),
): Promise<AdminPrincipal> {
  if (!isApiTokenShaped(token)) throw new UnauthenticatedError(badToken);
  const tokenHash = sha256Hex(token);
  const row = await db
    .selectFrom('api_tokens')
    .innerJoin('admin_accounts', 'admin_accounts.id', 'api_tokens.account_id')
    .select([
      'api_tokens.token_hash',
      'api_tokens.expires_at',
      'api_tokens.revoked_at',
      'admin_accounts.id as account_id',
      'admin_accounts.name',
      'admin_accounts.disabled',
    ])
    .where('api_tokens.token_hash', '=', tokenHash)
    .executeTakeFirst();
  const valid =
    row !== undefined &&
    constantTimeEqual(row.token_hash, tokenHash) &&
    row.revoked_at === null &&
    (row.expires_at === null || row.expires_at.getTime() > now.getTime()) &&
    !row.disabled;
  if (!valid) throw new UnauthenticatedError(badToken);
  return principalFor(db, { accountId: row.account_id, name: row.name, via: 'token' });
}
