import { algorithms, publicKeyFromRecord, type PublicKeyRecord } from '../../trust/index.js';

/**
 * A site's Ed25519 public key as a PEM SubjectPublicKeyInfo (RFC 8410), the file a legacy client
 * pins at install and hands to `openssl pkeyutl -verify -pubin -inkey`. No cryptography happens
 * here: the DER is the fixed Ed25519 SPKI header followed by the raw key.
 */
export function sitePublicKeyPem(record: PublicKeyRecord): string {
  const key = publicKeyFromRecord(record);
  const raw = Buffer.from(key.publicRecord().publicKey, 'base64');
  const der = Buffer.concat([algorithms.signature.spkiPrefix, raw]);
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN PUBLIC KEY-----\n${lines.join('\n')}\n-----END PUBLIC KEY-----\n`;
}
