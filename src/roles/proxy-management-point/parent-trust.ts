import {
  followRotations,
  verifyMpCertificate,
  verifySiteCertificate,
  type TrustedRoot,
  type VerifyingKey,
} from '../../trust/index.js';
import { trustBundleSchema, type TrustBundle } from '../../protocol/index.js';
import { PayloadInvalidError } from '../../trust/index.js';

/** What the proxy management point knows of its parent's management point, verified. */
export interface ParentTrust {
  /** The bundle exactly as the parent served it (agents check it again themselves). */
  readonly bytes: Buffer;
  readonly bundle: TrustBundle;
  readonly mpKey: VerifyingKey;
  readonly mpName: string;
  readonly siteKeys: ReadonlyMap<string, VerifyingKey>;
  readonly root: TrustedRoot;
}

/**
 * C1 and C2 as the proxy checks them before it serves anything on its parent's behalf: the bundle's
 * root chain must follow from the root this secondary site holds (so a parent cannot swap the
 * hierarchy), the MP certificate must chain to it for the parent site, and the site certificates
 * whose keys sign bodies must verify. Agents check all of it again (C1 to C4).
 */
export function verifyParentBundle(
  bytes: Buffer,
  heldRoot: TrustedRoot,
  parentCode: string,
  now: Date,
): ParentTrust {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (cause) {
    throw new PayloadInvalidError('the parent management point sent a trust bundle that is not JSON', {
      cause,
    });
  }
  const parsed = trustBundleSchema.safeParse(json);
  if (!parsed.success)
    throw new PayloadInvalidError('the parent management point sent an invalid trust bundle');
  const bundle = parsed.data;
  if (bundle.siteCode !== parentCode) {
    throw new PayloadInvalidError(
      `the parent management point serves site ${bundle.siteCode}, not ${parentCode}`,
    );
  }
  const root = followRotations(heldRoot, bundle.rootChain, now);
  const mp = verifyMpCertificate(bundle.mpCertificate, root, now, parentCode);
  const siteKeys = new Map<string, VerifyingKey>();
  for (const certificate of bundle.siteCertificates) {
    try {
      const verified = verifySiteCertificate(certificate, root, now);
      siteKeys.set(verified.key.keyId, verified.key);
    } catch {
      // A certificate that does not verify certifies nothing.
    }
  }
  return { bytes, bundle, mpKey: mp.key, mpName: mp.payload.mpName, siteKeys, root };
}
