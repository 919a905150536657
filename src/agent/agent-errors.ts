import { StewardError } from '../trust/index.js';

/** Failures of the agent (docs/errors.md, section Agent). */
export class RootRequiredError extends StewardError {
  readonly code = 'ERR_ROOT_REQUIRED';
}

export class NotEnrolledError extends StewardError {
  readonly code = 'ERR_NOT_ENROLLED';
}

export class AlreadyEnrolledError extends StewardError {
  readonly code = 'ERR_ALREADY_ENROLLED';
}

export class ManagementPointUnreachableError extends StewardError {
  readonly code = 'ERR_MP_UNREACHABLE';
  override readonly status = 503;
  override readonly retryable = true;
}

export class ResponseTooLargeError extends StewardError {
  readonly code = 'ERR_RESPONSE_TOO_LARGE';
}

export class LocatorError extends StewardError {
  readonly code = 'ERR_LOCATOR';
}

export class CacheFullError extends StewardError {
  readonly code = 'ERR_CACHE_FULL';
}

export class DownloadError extends StewardError {
  readonly code = 'ERR_DOWNLOAD';
  override readonly retryable = true;
}
