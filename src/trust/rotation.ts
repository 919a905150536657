/**
 * C1 root rotation (TUF semantics): from the root a client holds, each newer version must be
 * exactly one higher and signed by a threshold of the previous version's keys AND a threshold of
 * its own keys. Intermediate versions may have expired; the final one must not have (a root that
 * expired with no newer version is a freeze).
 */
import type { Envelope } from './dsse.js';
import type { DocumentLimits } from './documents/open.js';
import { checkIssuedAt, checkNotExpired } from './documents/validity.js';
import {
  readRootCandidate,
  rootKeysOf,
  verifyRootSignatures,
  type RootCandidate,
  type TrustedRoot,
} from './root.js';
import { RotationChainError } from './trust-errors.js';

/** Default C6 limit on the number of new root versions followed in one operation. */
export const defaultMaxRotationSteps = 32;

/** C6: old versions a chain may carry beside the new ones (they are read, then ignored). */
export const maxOldRootsOffered = 1024;

export type RotationOptions = { maxSteps?: number; limits?: DocumentLimits };

/** A root envelope as it may arrive. */
export type RootInput = Envelope | string | Uint8Array;

/** C6: refuses a chain with far more documents than steps may follow; returns maxSteps. */
export function checkChainLength(chain: readonly RootInput[], options: RotationOptions): number {
  const maxSteps = options.maxSteps ?? defaultMaxRotationSteps;
  if (!Number.isSafeInteger(maxSteps) || maxSteps < 0)
    throw new RangeError('maxSteps must be an integer >= 0');
  if (chain.length > maxSteps + maxOldRootsOffered) {
    throw new RotationChainError(
      `The root chain offers ${chain.length} documents; refusing to read so many.`,
    );
  }
  return maxSteps;
}

/**
 * The new root versions of a chain, in order: versions <= current are ignored, identical copies are
 * merged; two different documents of one version (a fork), a gap, or more than maxSteps new versions
 * are ERR_ROTATION_CHAIN. Nothing here is trusted yet.
 */
function newVersionsOf(
  currentVersion: number,
  chain: readonly RootInput[],
  options: RotationOptions,
): RootCandidate[] {
  const maxSteps = checkChainLength(chain, options);
  const byVersion = new Map<number, RootCandidate>();
  for (const input of chain) {
    const candidate = readRootCandidate(input, options.limits);
    const { version } = candidate.payload;
    if (version <= currentVersion) continue;
    const seen = byVersion.get(version);
    if (seen !== undefined && seen.hash !== candidate.hash) {
      throw new RotationChainError(
        `Two different root documents claim version ${version} (a fork); refusing both.`,
      );
    }
    byVersion.set(version, candidate);
  }
  if (byVersion.size > maxSteps) {
    throw new RotationChainError(
      `The root chain has ${byVersion.size} new versions; at most ${maxSteps} are followed at once.`,
    );
  }
  const ordered = [...byVersion.values()].sort((a, b) => a.payload.version - b.payload.version);
  ordered.forEach((candidate, index) => {
    const expected = currentVersion + index + 1;
    if (candidate.payload.version !== expected) {
      throw new RotationChainError(
        `Root version ${expected} is missing from the chain (next offered is ${candidate.payload.version}).`,
      );
    }
  });
  return ordered;
}

/**
 * Follows root rotations from `current` and returns the newest trusted root (possibly `current`
 * itself). Per step: ERR_THRESHOLD_NOT_MET naming the previous or the own keys, ERR_SIGNATURE_INVALID,
 * ERR_NOT_YET_VALID; at the end ERR_EXPIRED when the final root has expired.
 */
export function followRotations(
  current: TrustedRoot,
  chain: readonly RootInput[],
  now: Date,
  options: RotationOptions = {},
): TrustedRoot {
  let trusted = current;
  for (const candidate of newVersionsOf(current.version, chain, options)) {
    const { version, threshold } = candidate.payload;
    verifyRootSignatures(
      candidate,
      trusted.keys,
      trusted.threshold,
      `the keys of root version ${trusted.version}`,
    );
    const keys = rootKeysOf(candidate.payload);
    verifyRootSignatures(candidate, keys, threshold, `its own keys (root version ${version})`);
    checkIssuedAt(candidate.payload, now);
    trusted = { version, threshold, keys, payload: candidate.payload, hash: candidate.hash };
  }
  checkNotExpired(trusted.payload, now);
  return trusted;
}
