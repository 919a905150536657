import { isCanonicalBase64 } from '../../trust/index.js';
import { UnauthenticatedError } from './admin-errors.js';

/** Credentials from an `Authorization` header: an API token, or a name and password. */
export type AuthorizationCredentials =
  | { readonly kind: 'bearer'; readonly token: string }
  | { readonly kind: 'basic'; readonly name: string; readonly password: string };

/** Longest Authorization header read (C6-style limit: a password is at most 1024 bytes). */
export const maxAuthorizationHeaderLength = 4096;

export const missingCredentials = 'Authentication is required: send a Bearer API token or Basic credentials.';
export const malformedCredentials = 'The Authorization header is malformed.';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses `Bearer <token>` or `Basic base64(name:password)` (RFC 6750, RFC 7617; the scheme is
 * case-insensitive). Anything else is refused with UnauthenticatedError. The name is everything up
 * to the first colon (account names cannot contain one).
 */
export function parseAuthorizationHeader(header: string | undefined): AuthorizationCredentials {
  if (header === undefined || header === '') throw new UnauthenticatedError(missingCredentials);
  if (header.length > maxAuthorizationHeaderLength) throw new UnauthenticatedError(malformedCredentials);
  const match = /^([A-Za-z]+) +(\S+)$/.exec(header);
  const scheme = match?.[1]?.toLowerCase();
  const value = match?.[2];
  if (scheme === 'bearer' && value !== undefined) return { kind: 'bearer', token: value };
  if (scheme === 'basic' && value !== undefined && isCanonicalBase64(value)) {
    const decoded = decodeUtf8(Buffer.from(value, 'base64'));
    const colon = decoded?.indexOf(':') ?? -1;
    if (decoded !== undefined && colon > 0) {
      return { kind: 'basic', name: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
  }
  throw new UnauthenticatedError(malformedCredentials);
}

function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}
