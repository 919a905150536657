/**
 * What an agent checks before it acts (C3, C4, C5), as pure functions over one fixed "now". Each
 * throws a typed error; none returns a value a caller could forget to check.
 */
import type { Envelope } from './dsse.js';
import { openDocument, type DocumentLimits, type OpenedDocument } from './documents/open.js';
import type { VerifyingKey } from './keys.js';
import {
  HashMismatchError,
  PayloadInvalidError,
  RollbackError,
  WrongRecipientError,
} from './trust-errors.js';

type EnvelopeInput = Envelope | string | Uint8Array;

export type AssignmentsContext = {
  /** The key of an MP certified for this client's site (C2). */
  mpKey: VerifyingKey;
  /**
   * The keys of the site's other certified MPs (C2, each from a root-chained mp-certificate for
   * this site): a list signed by any MP of the site is accepted (C3), so an agent that fails over
   * between MPs keeps the list another MP signed (docs/scale-out.md).
   */
  otherMpKeys?: readonly VerifyingKey[];
  clientId: string;
  siteCode: string;
  /** The sequence of the last accepted list, null before the first. */
  lastSequence: number | null;
  now: Date;
  limits?: DocumentLimits;
};

/**
 * C3: signed by the certified MP key (ERR_UNKNOWN_KEY, ERR_SIGNATURE_INVALID); issued no later than
 * now + skew (ERR_NOT_YET_VALID); not expired, a freeze (ERR_EXPIRED); addressed to this client and
 * site (ERR_WRONG_RECIPIENT); sequence not lower than the last accepted (ERR_ROLLBACK).
 */
export function acceptAssignments(
  envelope: EnvelopeInput,
  context: AssignmentsContext,
): OpenedDocument<'policy-assignments'> {
  const opened = openDocument(
    'policy-assignments',
    envelope,
    [context.mpKey, ...(context.otherMpKeys ?? [])],
    1,
    context.now,
    context.limits,
  );
  const { payload } = opened;
  if (payload.clientId !== context.clientId || payload.siteCode !== context.siteCode) {
    throw new WrongRecipientError(
      `The policy assignment list is addressed to client ${payload.clientId.slice(0, 16)}… at site ` +
        `${payload.siteCode}, not to this client at site ${context.siteCode}.`,
    );
  }
  if (context.lastSequence !== null && payload.sequence < context.lastSequence) {
    throw new RollbackError(
      `The policy assignment list has sequence ${payload.sequence}, lower than the last accepted ` +
        `${context.lastSequence}; refusing a rollback.`,
    );
  }
  return opened;
}

function checkHash(what: string, actual: string, expected: string): void {
  if (!/^[0-9a-fA-F]{64}$/.test(expected)) {
    throw new PayloadInvalidError(`The expected ${what} hash is not a SHA-256 in hex.`);
  }
  if (actual !== expected.toLowerCase()) {
    throw new HashMismatchError(
      `The ${what} has SHA-256 ${actual}, but ${expected.toLowerCase()} was promised.`,
    );
  }
}

export type PolicyBodyContext = {
  /** Keys of certified site certificates (C2), by key id. */
  siteKeys: ReadonlyMap<string, VerifyingKey>;
  /** The hash in the accepted assignment list (C3). */
  expectedHash: string;
  now: Date;
  limits?: DocumentLimits;
};

/** C4: signed by a certified site key, in date, and its payload hash equals the assignment's (ERR_HASH_MISMATCH). */
export function acceptPolicyBody(
  envelope: EnvelopeInput,
  context: PolicyBodyContext,
): OpenedDocument<'policy-body'> {
  const opened = openDocument('policy-body', envelope, context.siteKeys, 1, context.now, context.limits);
  checkHash('policy body', opened.hash, context.expectedHash);
  return opened;
}

export type ContentManifestContext = PolicyBodyContext & { packageId: string; packageVersion: string };

/**
 * C5: signed by a certified site key, in date, payload hash equal to the body's manifestHash
 * (ERR_HASH_MISMATCH), for the body's package and version (ERR_PAYLOAD_INVALID). Sizes are then
 * known before any download; stream each file through createContentVerifier.
 */
export function acceptContentManifest(
  envelope: EnvelopeInput,
  context: ContentManifestContext,
): OpenedDocument<'content-manifest'> {
  const opened = openDocument('content-manifest', envelope, context.siteKeys, 1, context.now, context.limits);
  checkHash('content manifest', opened.hash, context.expectedHash);
  const { packageId, packageVersion } = opened.payload;
  if (packageId !== context.packageId || packageVersion !== context.packageVersion) {
    throw new PayloadInvalidError(
      `The content manifest is for package ${packageId} ${packageVersion}, not ${context.packageId} ` +
        `${context.packageVersion}.`,
    );
  }
  return opened;
}
