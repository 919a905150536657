/**
 * Site join proofs (DESIGN.md section 2, "Secure key exchange between sites"). A join token carries
 * a secret that never travels again: the joining site proves it knows the secret with an HMAC over
 * the very keys it asks the hierarchy to certify. Whoever sees the proof (a relay, an eavesdropper)
 * learns nothing it could use for another key, and the parent checks it in constant time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { algorithms } from './algorithms.js';
import { SignatureInvalidError } from './trust-errors.js';

/** What a join proof binds: the token, the joining site and the keys to certify. */
export type JoinProofFields = {
  tokenId: string;
  siteCode: string;
  siteType: string;
  siteKeyId: string;
  mpKeyId: string | null;
};

function proofMessage(fields: JoinProofFields): string {
  return [
    'steward-join-proof/v1',
    fields.tokenId,
    fields.siteCode,
    fields.siteType,
    fields.siteKeyId,
    fields.mpKeyId ?? '-',
  ].join('\n');
}

/** HMAC-SHA-256 of the fields with the token's secret, lowercase hex. */
export function joinProof(secret: string, fields: JoinProofFields): string {
  return createHmac(algorithms.mac.hash, Buffer.from(secret, 'utf8'))
    .update(proofMessage(fields), 'utf8')
    .digest('hex');
}

/** Throws ERR_SIGNATURE_INVALID unless `proof` is the join proof of these fields under `secret`. */
export function verifyJoinProof(secret: string, fields: JoinProofFields, proof: string): void {
  const expected = Buffer.from(joinProof(secret, fields), 'hex');
  const offered = /^[0-9a-f]{64}$/.test(proof)
    ? Buffer.from(proof, 'hex')
    : Buffer.alloc(algorithms.mac.bytes);
  const matches = timingSafeEqual(expected, offered) && /^[0-9a-f]{64}$/.test(proof);
  if (!matches) {
    throw new SignatureInvalidError(
      'The join proof does not verify: the request was not made with this join token, or its keys were changed.',
    );
  }
}
