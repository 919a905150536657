import { randomId, randomToken, sha256Hex } from '../../trust/index.js';
import type { SiteDb } from '../database/site-db.js';

/**
 * Enrolment tokens (S1): a client that registers with a valid token is approved at once. Only the
 * token's SHA-256 is stored; the token itself is shown once, when it is created.
 */
export async function createEnrolmentToken(
  db: SiteDb,
  options: { description: string; uses: number; expiresAt: Date; now: Date },
): Promise<{ id: string; token: string; expiresAt: Date; uses: number }> {
  const token = `enr_${randomToken(24)}`;
  const id = randomId();
  await db
    .insertInto('enrolment_tokens')
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

/** Uses one use of a token; true when the token was valid, unexpired and had a use left. */
export async function consumeEnrolmentToken(db: SiteDb, token: string, now: Date): Promise<boolean> {
  if (!token.startsWith('enr_') || token.length > 128) return false;
  const result = await db
    .updateTable('enrolment_tokens')
    .set((eb) => ({ uses_left: eb('uses_left', '-', 1) }))
    .where('token_hash', '=', sha256Hex(token))
    .where('uses_left', '>', 0)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}
