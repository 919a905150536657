import type { Socket } from 'node:net';
import { protocolLimits, type ClientCertificateAnswer } from '../../protocol/index.js';
import { getClient } from '../../site/clients/client-store.js';
import type { SiteDb } from '../../site/database/site-db.js';
import {
  checkClientCertificate,
  parseEnvelope,
  publicKeyFromRecord,
  verifyTlsClientRequest,
  type RevocationCheck,
  type TlsClientIdentity,
  type TlsPublicKey,
} from '../../trust/index.js';
import { siteLinkPeer, type CertifiedPublicKey } from '../../trust/tls/index.js';
import {
  ClientCertificateMismatchError,
  ClientNotApprovedError,
  ClientRevokedError,
  UnknownClientError,
  WrongSiteError,
} from './mp-errors.js';

/** An approved client's certificate request, verified (S1) by the management point. */
export interface VerifiedClientCertificateRequest {
  clientId: string;
  /** The client's registered public key (its key record's `publicKey`). */
  clientPublicKey: string;
  /** The client's signed `tls-client-request`, as it came. */
  encodedRequest: string;
  tlsPublicKey: TlsPublicKey;
  tlsPublicKeySha256: string;
}

/** What a management point needs when its site serves HTTPS (docs/tls.md). */
export interface ClientCertificateSecurity {
  /** Synchronous: revoked client certificate serials. */
  isRevoked: RevocationCheck;
  /**
   * A client certificate for a verified request's public key: issued and recorded by the central
   * site's CA; at a joined site, the one the CA sent down through the parent link, or
   * ERR_CLIENT_CERTIFICATE_PENDING once the request is on its way up.
   */
  certify(
    request: VerifiedClientCertificateRequest,
    now: Date,
  ): Promise<Pick<CertifiedPublicKey, 'certificatePem' | 'notAfter'>>;
}

/**
 * POST /mp/v1/clients/{clientId}/certificate: an approved client asks for a TLS client certificate
 * with a `tls-client-request` signed by its registered key (S1 proof of possession of the client
 * key; the TLS key proves itself in every handshake). Unknown clients get 404, revoked ones 403
 * ERR_CLIENT_REVOKED, pending ones 403 ERR_CLIENT_NOT_APPROVED. A replayed request can only
 * certify the same public key again, useless without its private key, so no nonce is kept.
 */
export async function issueClientCertificate(
  db: SiteDb,
  input: { siteCode: string; security: ClientCertificateSecurity },
  clientId: string,
  encodedRequest: string,
  now: Date,
): Promise<ClientCertificateAnswer> {
  const client = await getClient(db, clientId);
  if (client === undefined)
    throw new UnknownClientError(`client ${clientId.slice(0, 16)}… is not registered`);
  if (client.state === 'revoked') throw new ClientRevokedError(`client ${clientId.slice(0, 16)}… is revoked`);
  if (client.state !== 'approved') {
    throw new ClientNotApprovedError(
      `client ${clientId.slice(0, 16)}… is not approved yet; it gets a certificate once approved`,
    );
  }
  const clientKey = publicKeyFromRecord({ keyId: client.id, publicKey: client.publicKey });
  const verified = verifyTlsClientRequest(encodedRequest, clientKey, now);
  if (verified.payload.siteCode !== input.siteCode) {
    throw new WrongSiteError(
      `this management point serves site ${input.siteCode}, not ${verified.payload.siteCode}`,
    );
  }
  const issued = await input.security.certify(
    {
      clientId: client.id,
      clientPublicKey: client.publicKey,
      encodedRequest,
      tlsPublicKey: verified.tlsPublicKey,
      tlsPublicKeySha256: verified.tlsPublicKeySha256,
    },
    now,
  );
  return { certificate: issued.certificatePem, notAfter: issued.notAfter.toISOString() };
}

/**
 * The caller of a client endpoint (policy, policy bodies, reports) when the site serves HTTPS: a
 * valid, unrevoked client certificate from the hierarchy CA is required (401
 * ERR_TLS_CLIENT_UNTRUSTED, 403 ERR_TLS_CLIENT_REVOKED); with `clientId`, it must be that client's
 * (403 ERR_CLIENT_CERTIFICATE_MISMATCH). Undefined when the site serves plain HTTP.
 */
export function requireClientCertificate(
  socket: Socket,
  security: ClientCertificateSecurity | undefined,
  clientId?: string,
): TlsClientIdentity | undefined {
  if (security === undefined) return undefined;
  const identity = checkClientCertificate(socket, { isRevoked: security.isRevoked, required: true });
  if (identity === undefined) return undefined;
  if (clientId !== undefined && identity.clientId !== clientId) {
    throw new ClientCertificateMismatchError(
      `the client certificate belongs to client ${identity.clientId.slice(0, 16)}…, not to ${clientId.slice(0, 16)}…`,
    );
  }
  return identity;
}

/** Whether a site code is one of this site's secondary sites (their proxy MPs act for clients). */
export type SecondarySiteCheck = (siteCode: string) => Promise<boolean>;

/** True when the connection presents the site server certificate of one of this site's secondaries. */
export async function isProxyOf(socket: Socket, isSecondarySite: SecondarySiteCheck): Promise<boolean> {
  const peer = siteLinkPeer(socket);
  return peer.kind === 'site' && (await isSecondarySite(peer.siteCode));
}

/**
 * The caller of a client's assignment list over HTTPS: that client's certificate, or the site
 * server certificate of one of this site's secondary sites, whose proxy management point fetches
 * the lists of the clients it serves (docs/tls.md); either must be valid and unrevoked. Another
 * client's certificate is ERR_CLIENT_CERTIFICATE_MISMATCH.
 */
export async function requireClientOrProxy(
  socket: Socket,
  security: ClientCertificateSecurity | undefined,
  clientId: string,
  isSecondarySite: SecondarySiteCheck,
): Promise<void> {
  const identity = requireClientCertificate(socket, security);
  if (identity === undefined || identity.clientId === clientId) return;
  if (await isProxyOf(socket, isSecondarySite)) return;
  throw new ClientCertificateMismatchError(
    `the client certificate belongs to client ${identity.clientId.slice(0, 16)}…, not to ${clientId.slice(0, 16)}…`,
  );
}

/**
 * The caller of a report batch over mutual TLS: every report signed by the certificate's client,
 * or (checked only then, off the agents' path) one of this site's secondaries, whose proxy MP
 * hands over reports of many clients (S2 is checked for each report either way).
 */
export async function checkReportBatchCaller(
  socket: Socket,
  identity: TlsClientIdentity | undefined,
  reports: readonly string[],
  isSecondarySite: SecondarySiteCheck,
): Promise<void> {
  if (identity === undefined) return;
  try {
    checkReportSigners(reports, identity.clientId);
  } catch (error) {
    if (!(error instanceof ClientCertificateMismatchError) || !(await isProxyOf(socket, isSecondarySite)))
      throw error;
  }
}

/**
 * Over mutual TLS, a batch carries only reports signed by the connection's client (the signature's
 * key id is the client id); unreadable envelopes are left to report intake, which rejects them.
 */
export function checkReportSigners(reports: readonly string[], clientId: string): void {
  for (const encoded of reports) {
    let signers: string[];
    try {
      signers = parseEnvelope(encoded, {
        maxBytes: protocolLimits.maxEnvelopeBytes,
        maxSignatures: 1,
      }).signatures.map((signature) => signature.keyid);
    } catch {
      continue;
    }
    if (signers.some((keyId) => keyId !== clientId)) {
      throw new ClientCertificateMismatchError(
        `a report in this batch is signed by another client than the certificate's (${clientId.slice(0, 16)}…)`,
      );
    }
  }
}
