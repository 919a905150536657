/**
 * Site system install proofs (docs/scale-out.md). A site system token, issued at the site
 * (`steward site system-token`), carries a secret that never travels: the management point or
 * distribution point being installed proves that it holds the token with an HMAC, keyed by the
 * SHA-256 of the secret (what the site stores), over the very name, URLs and keys it asks the site
 * to certify. Whoever sees the proof learns nothing usable for another key or name; the site checks
 * it in constant time. The same construction as the join proof of sites (join-proof.ts), with its
 * own label, so a proof of one kind can never pass for the other.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { algorithms } from './algorithms.js';
import { sha256Hex } from './digest.js';
import { SignatureInvalidError } from './trust-errors.js';

/** What an install proof binds: the token, the site, the system's role, name, URLs and keys. */
export type SiteSystemProofFields = {
  tokenId: string;
  siteCode: string;
  role: string;
  name: string;
  urls: readonly string[];
  systemKeyId: string;
  /** SHA-256 of the TLS public key to certify, when one is asked for. */
  tlsPublicKeySha256: string | null;
};

function proofMessage(fields: SiteSystemProofFields): string {
  return [
    'steward-site-system-proof/v1',
    fields.tokenId,
    fields.siteCode,
    fields.role,
    fields.name,
    sha256Hex(JSON.stringify(fields.urls)),
    fields.systemKeyId,
    fields.tlsPublicKeySha256 ?? '-',
  ].join('\n');
}

/** The key of a token's proofs: the SHA-256 of its secret (all the site keeps of it). */
export function siteSystemProofKey(secret: string): string {
  return sha256Hex(secret);
}

/** HMAC-SHA-256 of the fields under the proof key, lowercase hex. */
export function siteSystemProof(proofKey: string, fields: SiteSystemProofFields): string {
  return createHmac(algorithms.mac.hash, Buffer.from(proofKey, 'utf8'))
    .update(proofMessage(fields), 'utf8')
    .digest('hex');
}

/** Throws ERR_SIGNATURE_INVALID unless `proof` is the install proof of these fields. */
export function verifySiteSystemProof(proofKey: string, fields: SiteSystemProofFields, proof: string): void {
  const wellFormed = /^[0-9a-f]{64}$/.test(proof);
  const expected = Buffer.from(siteSystemProof(proofKey, fields), 'hex');
  const offered = wellFormed ? Buffer.from(proof, 'hex') : Buffer.alloc(algorithms.mac.bytes);
  if (!timingSafeEqual(expected, offered) || !wellFormed) {
    throw new SignatureInvalidError(
      'The install proof does not verify: the request was not made with this site system token, or its name, URLs or keys were changed.',
    );
  }
}
