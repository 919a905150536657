import { StewardError } from '../trust/index.js';

export class UsageError extends StewardError {
  readonly code = 'ERR_USAGE';
}

export class SiteUnreachableError extends StewardError {
  readonly code = 'ERR_SITE_UNREACHABLE';
  override readonly status = 503;
  override readonly retryable = true;
}

/** An error answer from the admin API, with the code the site sent. */
export class RemoteError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}
