/**
 * Failures of the directory context (listed in docs/errors.md, section Directory). Messages name
 * the directory URL, a DN or an account, never a password.
 */
import { StewardError } from '../../trust/index.js';

/** The directory settings are unusable: URL, TLS mode, base DN, or an unreadable password file. */
export class DirectoryConfigError extends StewardError {
  readonly code = 'ERR_DIRECTORY_CONFIG';
}

/** No connection: refused, timed out, or closed before an answer. Retryable. */
export class DirectoryUnreachableError extends StewardError {
  readonly code = 'ERR_DIRECTORY_UNREACHABLE';
  override readonly status = 503;
  override readonly retryable = true;
}

/** TLS could not be set up: handshake failed, StartTLS refused, or the certificate did not validate. */
export class DirectoryTlsError extends StewardError {
  readonly code = 'ERR_DIRECTORY_TLS';
  override readonly status = 502;
}

/** The directory refused the bind: wrong credentials, or it demands a stronger authentication. */
export class DirectoryBindError extends StewardError {
  readonly code = 'ERR_DIRECTORY_BIND';
  override readonly status = 401;
}

/** The directory refused an operation for lack of access rights (LDAP result 50). */
export class DirectoryDeniedError extends StewardError {
  readonly code = 'ERR_DIRECTORY_DENIED';
  override readonly status = 403;
}

/** The Steward schema extension is missing or older than this release expects. */
export class DirectorySchemaError extends StewardError {
  readonly code = 'ERR_DIRECTORY_SCHEMA';
  override readonly status = 409;
}

/** `cn=System Management,cn=System,<base DN>` is missing and this account may not create it. */
export class DirectoryContainerError extends StewardError {
  readonly code = 'ERR_DIRECTORY_CONTAINER';
  override readonly status = 404;
}

/** An entry this system would write exists and was written by another account (S4); left untouched. */
export class DirectoryConflictError extends StewardError {
  readonly code = 'ERR_DIRECTORY_CONFLICT';
  override readonly status = 409;
}

/** C6: a search returned more entries or larger values than the limits allow. */
export class DirectoryLimitError extends StewardError {
  readonly code = 'ERR_DIRECTORY_LIMIT';
  override readonly status = 413;
}

/** Any other LDAP failure, with the LDAP result code in the message. */
export class DirectoryOperationError extends StewardError {
  readonly code = 'ERR_DIRECTORY_OPERATION';
  override readonly status = 502;
}

/** `steward directory check` found access rules that are not minimal; the report says what to change. */
export class DirectoryAclError extends StewardError {
  readonly code = 'ERR_DIRECTORY_ACLS';
  override readonly status = 409;
}

/** Every directory error class, for the test that keeps docs/errors.md complete. */
export const directoryErrorClasses = [
  DirectoryConfigError,
  DirectoryUnreachableError,
  DirectoryTlsError,
  DirectoryBindError,
  DirectoryDeniedError,
  DirectorySchemaError,
  DirectoryContainerError,
  DirectoryConflictError,
  DirectoryLimitError,
  DirectoryOperationError,
  DirectoryAclError,
] as const;
