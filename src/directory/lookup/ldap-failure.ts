/**
 * Turns what ldapts and the socket layer throw into Steward's directory errors. Denials are told
 * apart by LDAP result code, never by message text (slapd sends none for a denied modify).
 */
import { ResultCodeError } from 'ldapts';
import { isStewardError, type StewardError } from '../../trust/index.js';
import {
  DirectoryBindError,
  DirectoryDeniedError,
  DirectoryOperationError,
  DirectorySchemaError,
  DirectoryTlsError,
  DirectoryUnreachableError,
} from './directory-errors.js';

export const ldapResult = {
  noSuchAttribute: 16,
  undefinedAttributeType: 17,
  invalidAttributeSyntax: 21,
  noSuchObject: 32,
  strongAuthRequired: 8,
  confidentialityRequired: 13,
  inappropriateAuthentication: 48,
  invalidCredentials: 49,
  insufficientAccess: 50,
  unwillingToPerform: 53,
  objectClassViolation: 65,
  alreadyExists: 68,
} as const;

/** The LDAP result code of a failure, or undefined when the failure is not an LDAP result. */
export function resultCodeOf(error: unknown): number | undefined {
  return error instanceof ResultCodeError ? error.code : undefined;
}

export function isDenied(error: unknown): boolean {
  if (error instanceof DirectoryDeniedError) return true;
  const code = resultCodeOf(error);
  return code === ldapResult.insufficientAccess || code === ldapResult.strongAuthRequired;
}

function socketCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Maps a failure of `action` (a phrase: "bind as X", "add cn=...") at `url` to a StewardError. */
export function directoryFailure(error: unknown, action: string, url: string): StewardError {
  if (isStewardError(error)) return error;
  const code = resultCodeOf(error);
  const detail = messageOf(error).trim();
  const cause = { cause: error };
  if (code === ldapResult.invalidCredentials || code === ldapResult.inappropriateAuthentication) {
    return new DirectoryBindError(`The directory at ${url} refused to ${action}: wrong credentials.`, cause);
  }
  if (code === ldapResult.strongAuthRequired || code === ldapResult.confidentialityRequired) {
    return new DirectoryBindError(
      `The directory at ${url} refused to ${action} without a protected connection; use --tls ldaps or starttls.`,
      cause,
    );
  }
  if (code === ldapResult.insufficientAccess) {
    return new DirectoryDeniedError(
      `The directory at ${url} did not allow this account to ${action}.`,
      cause,
    );
  }
  if (code === ldapResult.undefinedAttributeType) {
    return new DirectorySchemaError(
      `The directory at ${url} does not know an attribute needed to ${action}; extend the schema ` +
        `(steward directory schema).`,
      cause,
    );
  }
  if (code !== undefined) {
    return new DirectoryOperationError(
      `The directory at ${url} could not ${action}: LDAP result ${code}${detail === '' ? '' : ` (${detail})`}.`,
      cause,
    );
  }
  const socket = socketCode(error);
  if (
    /CERT|TLS|SSL|SELF_SIGNED|UNABLE_TO_|HOSTNAME|ALTNAME/.test(socket) ||
    /certificate|TLS|SSL/i.test(detail)
  ) {
    return new DirectoryTlsError(`TLS to the directory at ${url} failed: ${detail}.`, cause);
  }
  return new DirectoryUnreachableError(
    `The directory at ${url} cannot be reached to ${action}: ${detail}.`,
    cause,
  );
}
