import { z } from 'zod';
import type { TrustBundle } from '../../protocol/index.js';
import {
  envelopePayloadBytes,
  parseEnvelope,
  parsePayload,
  trustRootFromPin,
  trustRootOnFirstUse,
  verifyMpCertificate,
  verifySiteCertificate,
  type TrustedRoot,
  type VerifyingKey,
} from '../../trust/index.js';
import { readState, writeState } from '../state/json-state.js';

export const trustStateSchema = z.strictObject({
  chain: z.array(z.string()).min(1).max(1024),
  pin: z.string().nullable(),
  source: z.enum(['pinned', 'directory', 'first-use']),
  bundleEtag: z.string().nullable(),
});

export type TrustState = z.output<typeof trustStateSchema>;

/** What the agent trusts right now: the root (C1), the MP key (C2) and the certified site keys. */
export interface TrustView {
  root: TrustedRoot;
  mpKey: VerifyingKey;
  mpName: string;
  mpUrls: string[];
  siteKeys: Map<string, VerifyingKey>;
  /**
   * The site's other management points (docs/scale-out.md), each checked like this one (C2): where
   * else the agent may poll, and whose signed assignment lists it accepts (C3).
   */
  otherMps: { key: VerifyingKey; urls: string[] }[];
}

/**
 * C1: the root comes from a pinned fingerprint (strongest), the directory, or the first MP (trust on
 * first use, recorded as such). The chain the agent holds always starts at its anchor; a newer root
 * is accepted only through a valid rotation chain from it.
 */
export function deriveRoot(chain: readonly string[], pin: string | null, now: Date): TrustedRoot {
  return pin === null ? trustRootOnFirstUse(chain, now) : trustRootFromPin(chain, pin, now);
}

/** Extends the held chain with the newer versions a bundle offers; held versions are never replaced. */
export function extendChain(held: readonly string[], offered: readonly string[]): string[] {
  const versionOf = (encoded: string) =>
    parsePayload('root', envelopePayloadBytes(parseEnvelope(encoded))).version;
  const heldVersions = new Set(held.map(versionOf));
  const newer = offered.filter((encoded) => !heldVersions.has(versionOf(encoded)));
  return [...held, ...newer];
}

/** The root a bundle leads to from the held chain (C1), and the chain to keep. */
export interface AcceptedRoot {
  root: TrustedRoot;
  chain: string[];
  rotatedFrom: number | null;
}

/**
 * C1: follows the rotations a bundle offers from the held root. Throws, changing nothing, when the
 * chain is not a valid rotation from the held anchor (or the newest root has expired).
 */
export function acceptRootChain(state: TrustState, bundle: TrustBundle, now: Date): AcceptedRoot {
  const before = deriveRootLenient(state.chain, state.pin, now);
  const chain = extendChain(state.chain, bundle.rootChain);
  const root = deriveRoot(chain, state.pin, now);
  return {
    root,
    chain: chain.filter(
      (encoded) => parsePayload('root', envelopePayloadBytes(parseEnvelope(encoded))).version <= root.version,
    ),
    rotatedFrom: before !== undefined && root.version > before ? before : null,
  };
}

/**
 * C2: the MP certificate chains to the accepted root, for this client's site, within its validity;
 * and the site certificates whose keys sign policy bodies and manifests (C4, C5).
 */
export function acceptManagementPoint(
  bundle: TrustBundle,
  root: TrustedRoot,
  siteCode: string,
  now: Date,
): TrustView {
  const mp = verifyMpCertificate(bundle.mpCertificate, root, now, siteCode);
  const siteKeys = new Map<string, VerifyingKey>();
  for (const certificate of bundle.siteCertificates) {
    try {
      const verified = verifySiteCertificate(certificate, root, now);
      siteKeys.set(verified.key.keyId, verified.key);
    } catch {
      // A certificate that does not verify certifies nothing; policy signed by its key is refused (C4).
    }
  }
  const otherMps: TrustView['otherMps'] = [];
  for (const certificate of bundle.managementPoints ?? []) {
    try {
      const other = verifyMpCertificate(certificate, root, now, siteCode);
      if (other.key.keyId !== mp.key.keyId) otherMps.push({ key: other.key, urls: other.payload.urls });
    } catch {
      // C2: an MP certificate that does not verify for this site (another site's, expired) names
      // no management point the agent will use.
    }
  }
  return { root, mpKey: mp.key, mpName: mp.payload.mpName, mpUrls: mp.payload.urls, siteKeys, otherMps };
}

/** Applies a trust bundle: C1 then C2. Throws, changing nothing, when any check fails. */
export function applyTrustBundle(
  state: TrustState,
  bundle: TrustBundle,
  siteCode: string,
  now: Date,
): { view: TrustView; chain: string[]; rotatedFrom: number | null } {
  const accepted = acceptRootChain(state, bundle, now);
  const view = acceptManagementPoint(bundle, accepted.root, siteCode, now);
  return { view, chain: accepted.chain, rotatedFrom: accepted.rotatedFrom };
}

function deriveRootLenient(chain: readonly string[], pin: string | null, now: Date): number | undefined {
  try {
    return deriveRoot(chain, pin, now).version;
  } catch {
    return undefined;
  }
}

export async function readTrustState(path: string): Promise<TrustState | undefined> {
  return readState(path, trustStateSchema);
}

export async function writeTrustState(path: string, state: TrustState): Promise<void> {
  await writeState(path, state);
}
