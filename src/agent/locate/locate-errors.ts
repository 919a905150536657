import { StewardError } from '../../trust/index.js';

/**
 * Failures of locating a site (docs/errors.md, section Locator). An error answer from the server
 * locator point arrives as a RemoteError with the server's code (ERR_NO_BOUNDARY, ...); a response
 * over its byte limit is ERR_TOO_LARGE (C6).
 */

/** The locator (server locator point or DNS server) could not be reached in time. Retryable. */
export class LocatorUnreachableError extends StewardError {
  readonly code = 'ERR_LOCATOR_UNREACHABLE';
  override readonly status = 503;
  override readonly retryable = true;
}

/** The locator answered something that is not a locate answer (status, JSON or shape). */
export class LocatorResponseError extends StewardError {
  readonly code = 'ERR_LOCATOR_RESPONSE';
  override readonly status = 502;
}

/** The domain has no usable `_steward-mp._tcp` SRV record. */
export class NoSrvRecordsError extends StewardError {
  readonly code = 'ERR_NO_SRV_RECORDS';
  override readonly status = 404;
}

export const locateErrorClasses = [LocatorUnreachableError, LocatorResponseError, NoSrvRecordsError] as const;
