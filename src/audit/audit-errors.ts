import { StewardError } from '../trust/index.js';

/** `steward audit` found at least one check that failed; the report says what to change. */
export class AuditFailedError extends StewardError {
  readonly code = 'ERR_AUDIT_FAILED';
  override readonly status = 409;
}

/** The site answering cannot run the security audit (a secondary site: run it at its parent). */
export class AuditUnavailableError extends StewardError {
  readonly code = 'ERR_AUDIT_UNAVAILABLE';
  override readonly status = 404;
}
