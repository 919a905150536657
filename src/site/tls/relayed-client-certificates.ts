/**
 * TLS client certificates of a joined site's agents (docs/tls.md, "Agents of joined sites"). A
 * joined site holds no CA key: its management point relays an approved agent's request up the
 * parent link to the central site's hierarchy CA, and records the certificate that comes back down
 * only when a CA this site holds issued it, for that client (subject CN = client id, clientAuth),
 * and the client is registered here and not revoked. The agent then gets it on its next request.
 */
import { describeCertificate, isIssuedBy, TlsCertificateInvalidError } from '../../trust/tls/index.js';
import { getClient } from '../clients/client-store.js';
import type { SiteDb } from '../database/site-db.js';
import { hasCertificate, saveIssuedCertificate, tlsAuthorities } from './tls-store.js';

const clientAuthOid = '1.3.6.1.5.5.7.3.2';

/** Checks and records a client certificate the hierarchy CA sent down (once; a repeat is ignored). */
export async function saveRelayedClientCertificate(
  db: SiteDb,
  input: { clientId: string; certificatePem: string; now: Date },
): Promise<void> {
  const summary = describeCertificate(input.certificatePem);
  const issuer = (await tlsAuthorities(db)).find((a) => isIssuedBy(input.certificatePem, a.certificatePem));
  if (issuer === undefined) {
    throw new TlsCertificateInvalidError(
      'the client certificate was not issued by a hierarchy CA this site holds',
    );
  }
  if (
    summary.subject !== `CN=${input.clientId}` ||
    summary.isCa ||
    !summary.extendedKeyUsages.includes(clientAuthOid)
  ) {
    throw new TlsCertificateInvalidError(
      `the certificate sent down is not a TLS client certificate of client ${input.clientId.slice(0, 16)}…`,
    );
  }
  const client = await getClient(db, input.clientId);
  if (client === undefined || client.state !== 'approved') {
    throw new TlsCertificateInvalidError(
      `client ${input.clientId.slice(0, 16)}… is not an approved client of this site; its certificate is not kept`,
    );
  }
  if (await hasCertificate(db, summary.serialHex)) return;
  await saveIssuedCertificate(db, {
    serialHex: summary.serialHex,
    caVersion: issuer.version,
    kind: 'client',
    subject: input.clientId,
    clientId: input.clientId,
    names: [],
    publicKeySha256: summary.publicKeySha256,
    certificatePem: input.certificatePem,
    notBefore: summary.notBefore,
    notAfter: summary.notAfter,
    issuedAt: input.now,
  });
}
