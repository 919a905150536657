import { StewardError } from '../../trust/index.js';

/** Failures of the server locator point (docs/errors.md, section Locator). */

/**
 * None of the client's addresses lies in a boundary this server locator point answers for: no
 * boundary matches, or the best match belongs to another site (the message names it).
 */
export class NoBoundaryError extends StewardError {
  readonly code = 'ERR_NO_BOUNDARY';
  override readonly status = 404;
}

/**
 * The site cannot answer yet: it has no management point with a URL, no site certificate matching
 * its key, or no root chain. Retryable.
 */
export class LocatorUnavailableError extends StewardError {
  readonly code = 'ERR_LOCATOR_UNAVAILABLE';
  override readonly status = 503;
  override readonly retryable = true;
}

export const serverLocatorErrorClasses = [NoBoundaryError, LocatorUnavailableError] as const;
