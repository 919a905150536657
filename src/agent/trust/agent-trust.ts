import { z } from 'zod';
import type { TrustBundle } from '../../protocol/index.js';
import {
  envelopePayloadBytes,
  parseEnvelope,
  parsePayload,
  RollbackError,
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
  /**
   * C2: the newest MP certificate serial accepted for each MP name of the site; an older one for
   * the same name (one that `trust rotate-mp` or a reinstall replaced) is refused from then on.
   * Absent in state written before it was kept.
   */
  mpSerials: z
    .record(z.string().max(256), z.number().int().min(1))
    .refine((serials) => Object.keys(serials).length <= maxRememberedMps, 'too many MP names')
    .optional(),
});

/** MP names whose newest certificate serial is remembered (a site has far fewer MPs). */
const maxRememberedMps = 256;

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
  /** The newest certificate serial accepted for each MP name, this bundle's included (C2). */
  mpSerials: Record<string, number>;
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
 * C2: the MP certificate chains to the accepted root, for this client's site, within its validity,
 * and is not older than the newest certificate accepted before for the same MP name (ERR_ROLLBACK:
 * a replaced MP key cannot come back); and the site certificates whose keys sign policy bodies and
 * manifests (C4, C5).
 */
export function acceptManagementPoint(
  bundle: TrustBundle,
  root: TrustedRoot,
  siteCode: string,
  now: Date,
  seenSerials: Readonly<Record<string, number>> = {},
): TrustView {
  const mp = verifyMpCertificate(bundle.mpCertificate, root, now, siteCode);
  const newest = new Map(Object.entries(seenSerials));
  if ((newest.get(mp.payload.mpName) ?? 0) > mp.payload.version) {
    throw new RollbackError(
      `the management point ${mp.payload.mpName} offers certificate ${mp.payload.version}, older than ` +
        `certificate ${newest.get(mp.payload.mpName)} accepted before (C2)`,
    );
  }
  newest.set(mp.payload.mpName, mp.payload.version);
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
      const { mpName, version } = other.payload;
      // C2: an older certificate of an MP name names a key that was replaced.
      if ((newest.get(mpName) ?? 0) > version) continue;
      newest.set(mpName, version);
      if (other.key.keyId !== mp.key.keyId) otherMps.push({ key: other.key, urls: other.payload.urls });
    } catch {
      // C2: an MP certificate that does not verify for this site (another site's, expired) names
      // no management point the agent will use.
    }
  }
  return {
    root,
    mpKey: mp.key,
    mpName: mp.payload.mpName,
    mpUrls: mp.payload.urls,
    siteKeys,
    otherMps,
    mpSerials: Object.fromEntries([...newest].slice(-maxRememberedMps)),
  };
}

/** True when a view accepted serials the held state does not record yet. */
export function mpSerialsChanged(held: TrustState, view: TrustView): boolean {
  const before = held.mpSerials ?? {};
  return Object.entries(view.mpSerials).some(([name, serial]) => before[name] !== serial);
}

/** Applies a trust bundle: C1 then C2. Throws, changing nothing, when any check fails. */
export function applyTrustBundle(
  state: TrustState,
  bundle: TrustBundle,
  siteCode: string,
  now: Date,
): { view: TrustView; chain: string[]; rotatedFrom: number | null } {
  const accepted = acceptRootChain(state, bundle, now);
  const view = acceptManagementPoint(bundle, accepted.root, siteCode, now, state.mpSerials);
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
