import { StewardError } from '../trust/index.js';

export { RemoteError, UsageError } from '../protocol/command-line.js';

export class SiteUnreachableError extends StewardError {
  readonly code = 'ERR_SITE_UNREACHABLE';
  override readonly status = 503;
  override readonly retryable = true;
}
