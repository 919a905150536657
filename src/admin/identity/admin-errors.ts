import { StewardError } from '../../trust/index.js';

/**
 * Failures of administrator identity and rights (listed in docs/errors.md, section Admin). Input
 * mistakes reuse the site's generic ERR_INVALID_REQUEST, ERR_NOT_FOUND and ERR_CONFLICT.
 */

/** No credentials, or credentials that do not identify an enabled account. One message for all. */
export class UnauthenticatedError extends StewardError {
  readonly code = 'ERR_UNAUTHENTICATED';
  override readonly status = 401;
}

/** The principal lacks a right; the message names the right, the class and the instance. */
export class ForbiddenError extends StewardError {
  readonly code = 'ERR_FORBIDDEN';
  override readonly status = 403;
}

/** A new password is shorter than the minimum. */
export class WeakPasswordError extends StewardError {
  readonly code = 'ERR_WEAK_PASSWORD';
}

/** Too many failed logins for an account name or from an address; retry after `retryAfterSeconds`. */
export class RateLimitedError extends StewardError {
  readonly code = 'ERR_RATE_LIMITED';
  override readonly status = 429;
  override readonly retryable = true;
  readonly retryAfterSeconds: number;

  constructor(message: string, retryAfterSeconds: number) {
    super(message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export type IdentityError = UnauthenticatedError | ForbiddenError | WeakPasswordError | RateLimitedError;
