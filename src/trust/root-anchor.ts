/**
 * C1 anchoring: where a client's first root comes from. A pinned fingerprint (strongest) or, where
 * the mode allows it, the first root an MP offers (trust on first use; the caller records and
 * reports that it was first use). Directory-sourced roots arrive as a pin read from the directory.
 */
import { matchesFingerprint, parseFingerprint } from './fingerprint.js';
import { readRootCandidate, selfSignedRoot, type TrustedRoot } from './root.js';
import { checkChainLength, followRotations, type RootInput, type RotationOptions } from './rotation.js';
import { RootPinMismatchError, RotationChainError, ThresholdNotMetError } from './trust-errors.js';

/**
 * C1 pinned: the anchor is the lowest-version document that contains a key matching the pin, is
 * signed by that pinned key, and by a threshold of its own keys; the rest of the chain is then
 * followed with the rotation rules. ERR_ROOT_PIN_MISMATCH when no document contains the pinned key.
 */
export function trustRootFromPin(
  chain: readonly RootInput[],
  pin: string,
  now: Date,
  options: RotationOptions = {},
): TrustedRoot {
  const normalPin = parseFingerprint(pin);
  checkChainLength(chain, options);
  const candidates = chain
    .map((input) => readRootCandidate(input, options.limits))
    .filter((candidate) => candidate.payload.keys.some((key) => matchesFingerprint(key.keyId, normalPin)))
    .sort((a, b) => a.payload.version - b.payload.version);
  const anchor = candidates[0];
  if (anchor === undefined) {
    throw new RootPinMismatchError(
      `No root document offered contains the pinned root key ${normalPin}; refusing to trust this hierarchy.`,
    );
  }
  const trusted = selfSignedRoot(anchor, now);
  const pinned = [...trusted.keys.values()].filter((key) => matchesFingerprint(key.keyId, normalPin));
  const signedByPin = anchor.envelope.signatures.some((signature) =>
    pinned.some((key) => key.keyId === signature.keyid),
  );
  if (!signedByPin) {
    throw new ThresholdNotMetError(
      `Root version ${trusted.version} contains the pinned key but is not signed by it; refusing it as the anchor.`,
    );
  }
  return followRotations(trusted, chain, now, options);
}

/**
 * C1 trust on first use: anchors on the first document in the chain that is signed by a threshold
 * of its own keys, then follows the rest of the chain. Only for the trust-on-first-use mode.
 */
export function trustRootOnFirstUse(
  chain: readonly RootInput[],
  now: Date,
  options: RotationOptions = {},
): TrustedRoot {
  checkChainLength(chain, options);
  let firstError: unknown;
  for (const input of chain) {
    let anchor: TrustedRoot;
    try {
      anchor = selfSignedRoot(readRootCandidate(input, options.limits), now);
    } catch (error) {
      firstError ??= error;
      continue;
    }
    return followRotations(anchor, chain, now, options);
  }
  if (firstError instanceof Error) throw firstError;
  throw new RotationChainError('No root document was offered.');
}
