import {
  envelopePayloadBytes,
  fingerprintOf,
  parseEnvelope,
  parsePayload,
  type SigningKey,
} from '../../trust/index.js';
import type { SiteDb } from '../database/site-db.js';
import { rootChain } from '../hierarchy/trust-store.js';
import { DataFolderError } from '../site-errors.js';
import { RootKeyOfflineError } from './rotation-errors.js';

/** The newest root version this site stores: the one its certificates must be signed under. */
export interface RootInForce {
  version: number;
  threshold: number;
  keyIds: readonly string[];
  /** The whole stored chain, version 1 first (encoded envelopes). */
  chain: readonly string[];
}

/**
 * Reads the newest root document of the site's own chain. The chain was verified when it was made
 * or arrived; the rotation checks it again, with the new version, before anything is stored.
 */
export async function rootInForce(db: SiteDb): Promise<RootInForce> {
  const chain = await rootChain(db);
  const newest = chain.at(-1);
  if (newest === undefined) throw new DataFolderError('the site database holds no root document');
  const payload = parsePayload('root', envelopePayloadBytes(parseEnvelope(newest)));
  return {
    version: payload.version,
    threshold: payload.threshold,
    keyIds: payload.keys.map((key) => key.keyId),
    chain,
  };
}

/**
 * The root keys held here that belong to the root in force, when they reach its threshold (only
 * then can they sign what agents will accept, C1 and C2). ERR_ROOT_KEY_OFFLINE otherwise.
 */
export function rootSignersFor(root: RootInForce, held: readonly SigningKey[]): SigningKey[] {
  const signers = held.filter((key) => root.keyIds.includes(key.keyId));
  if (signers.length < root.threshold) {
    throw new RootKeyOfflineError(
      `root version ${root.version} needs ${root.threshold} of its keys (` +
        root.keyIds.map((keyId) => fingerprintOf(keyId)).join(', ') +
        `) and keys/ holds ${signers.length} of them: bring the root key files back (keys/root-N.key) ` +
        'at the central site and run the command again',
    );
  }
  return signers;
}
