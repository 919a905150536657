import { randomId, randomToken, sha256Hex } from '../../trust/index.js';
import type { SiteDb } from '../database/site-db.js';

/** The tables of one-time (or n-time), expiring tokens: the same columns in each. */
export type CountedTokenTable = 'enrolment_tokens' | 'legacy_client_tokens';

export interface CountedToken {
  id: string;
  token: string;
  expiresAt: Date;
  uses: number;
}

/**
 * Creates a token with a number of uses and an expiry. Only its SHA-256 is stored; the token itself
 * is shown once, when it is created.
 */
export async function createCountedToken(
  db: SiteDb,
  table: CountedTokenTable,
  prefix: string,
  options: { description: string; uses: number; expiresAt: Date; now: Date },
): Promise<CountedToken> {
  const token = `${prefix}${randomToken(24)}`;
  const id = randomId();
  await db
    .insertInto(table)
    .values({
      id,
      token_hash: sha256Hex(token),
      description: options.description,
      uses_left: options.uses,
      created_at: options.now,
      expires_at: options.expiresAt,
    })
    .execute();
  return { id, token, expiresAt: options.expiresAt, uses: options.uses };
}

/**
 * Uses one use of a token, atomically; true when the token was valid, unexpired and had a use left.
 * A token of another kind (prefix) or of absurd length is refused before the database is asked.
 */
export async function consumeCountedToken(
  db: SiteDb,
  table: CountedTokenTable,
  prefix: string,
  token: string,
  now: Date,
): Promise<boolean> {
  if (!token.startsWith(prefix) || token.length > 128) return false;
  const result = await db
    .updateTable(table)
    .set((eb) => ({ uses_left: eb('uses_left', '-', 1) }))
    .where('token_hash', '=', sha256Hex(token))
    .where('uses_left', '>', 0)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}
