/**
 * Time checks on a verified payload, against one "now" fixed per operation: issuedAt may lie at
 * most five minutes ahead (clock skew), expiresAt must lie ahead.
 */
import { ExpiredError, NotYetValidError } from '../trust-errors.js';

/** Clock skew tolerated on issuedAt. */
export const clockSkewMs = 5 * 60 * 1000;

type Dated = { kind: string; issuedAt: string; expiresAt: string };

/** ERR_NOT_YET_VALID when issuedAt > now + 5 minutes. */
export function checkIssuedAt(payload: Dated, now: Date): void {
  if (Date.parse(payload.issuedAt) > now.getTime() + clockSkewMs) {
    throw new NotYetValidError(
      `The ${payload.kind} document is issued at ${payload.issuedAt}, later than now (${now.toISOString()}) ` +
        'plus 5 minutes of clock skew; check the clocks of this machine and of the signer.',
    );
  }
}

/** ERR_EXPIRED when expiresAt <= now. */
export function checkNotExpired(payload: Dated, now: Date): void {
  if (Date.parse(payload.expiresAt) <= now.getTime()) {
    throw new ExpiredError(
      `The ${payload.kind} document expired at ${payload.expiresAt} (now ${now.toISOString()}); ` +
        'a newer one is needed.',
    );
  }
}

/** Both checks, issuedAt first. */
export function checkValidity(payload: Dated, now: Date): void {
  checkIssuedAt(payload, now);
  checkNotExpired(payload, now);
}
