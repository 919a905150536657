import {
  isStewardError,
  openDocument,
  publicKeyFromRecord,
  randomToken,
  readEnvelope,
  sha256Hex,
  signDocument,
  type SigningKey,
} from '../../trust/index.js';
import type { SiteSystemRole } from '../../protocol/index.js';
import type { SiteDb } from '../database/site-db.js';
import { SiteSystemUnauthorizedError } from './site-system-errors.js';

/** C6: the header is refused past this length before it is decoded. */
const maxHeaderBytes = 16 * 1024;
/** How long a signed request is valid (the kind allows at most five minutes). */
const requestValidityMs = 2 * 60 * 1000;

export interface SiteSystemIdentity {
  siteCode: string;
  role: SiteSystemRole;
  name: string;
  key: SigningKey;
}

/**
 * The `x-steward-site-system` header of a request from a site system to its site server: a
 * `site-system-request` signed by the system's own key that binds method, path and the SHA-256 of
 * the exact body bytes (base64url of the encoded envelope).
 */
export function signSiteSystemRequest(
  identity: SiteSystemIdentity,
  request: { method: 'GET' | 'POST'; path: string; body: string },
  now: Date,
): string {
  const document = signDocument(
    {
      kind: 'site-system-request',
      version: 1,
      siteCode: identity.siteCode,
      role: identity.role,
      systemName: identity.name,
      method: request.method,
      path: request.path,
      bodySha256: sha256Hex(request.body),
      nonce: randomToken(16),
      issuedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + requestValidityMs).toISOString(),
    },
    [identity.key],
  );
  return Buffer.from(document.encoded, 'utf8').toString('base64url');
}

/** The site system a verified request came from. */
export interface VerifiedSiteSystem {
  id: string;
  role: SiteSystemRole;
  name: string;
}

/**
 * Checks a site-system request at the site server: the envelope (C6 limits) is signed by the key
 * recorded for a site system of this site installed on its own host, in date, for this site, that
 * system's role and name, and exactly this method, path and body. Anything else is 401
 * ERR_SITE_SYSTEM_UNAUTHORIZED (the cause says which check failed; the caller learns only that).
 */
export async function verifySiteSystemRequest(
  db: SiteDb,
  siteCode: string,
  header: string | undefined,
  request: { method: string; path: string; body: Uint8Array | string },
  now: Date,
): Promise<VerifiedSiteSystem> {
  if (header === undefined || header.length === 0 || header.length > maxHeaderBytes) {
    throw new SiteSystemUnauthorizedError('this endpoint is for site systems: a signed request is required');
  }
  try {
    const envelope = readEnvelope('site-system-request', Buffer.from(header, 'base64url'), {
      maxSignatures: 1,
    });
    const keyId = envelope.signatures[0]?.keyid ?? '';
    const row = await db
      .selectFrom('site_systems')
      .select(['id', 'role', 'name', 'key_id', 'public_key'])
      .where('site_code', '=', siteCode)
      .where('key_id', '=', keyId)
      .where('embedded', '=', false)
      .executeTakeFirst();
    if (row?.public_key == null || (row.role !== 'management-point' && row.role !== 'distribution-point')) {
      throw new SiteSystemUnauthorizedError('the request is not signed by a site system installed here');
    }
    const key = publicKeyFromRecord({ keyId, publicKey: row.public_key });
    const { payload } = openDocument('site-system-request', envelope, [key], 1, now);
    if (
      payload.siteCode !== siteCode ||
      payload.role !== row.role ||
      payload.systemName !== row.name ||
      payload.method !== request.method ||
      payload.path !== request.path ||
      payload.bodySha256 !== sha256Hex(request.body)
    ) {
      throw new SiteSystemUnauthorizedError('the signed request does not match this request');
    }
    return { id: row.id, role: row.role, name: row.name };
  } catch (cause) {
    if (cause instanceof SiteSystemUnauthorizedError) throw cause;
    const detail = isStewardError(cause) ? cause.code : 'unreadable';
    throw new SiteSystemUnauthorizedError(`the site-system request is refused (${detail})`, { cause });
  }
}
