import type { SiteDb } from '../database/site-db.js';
import { consumeCountedToken, createCountedToken, type CountedToken } from './counted-tokens.js';

const prefix = 'enr_';

/**
 * Enrolment tokens (S1): a client that registers with a valid token is approved at once. Only the
 * token's SHA-256 is stored; the token itself is shown once, when it is created.
 */
export function createEnrolmentToken(
  db: SiteDb,
  options: { description: string; uses: number; expiresAt: Date; now: Date },
): Promise<CountedToken> {
  return createCountedToken(db, 'enrolment_tokens', prefix, options);
}

/** Uses one use of a token; true when the token was valid, unexpired and had a use left. */
export function consumeEnrolmentToken(db: SiteDb, token: string, now: Date): Promise<boolean> {
  return consumeCountedToken(db, 'enrolment_tokens', prefix, token, now);
}
