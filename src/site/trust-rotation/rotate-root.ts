/**
 * `steward trust rotate-root --data DIR` (DESIGN.md sections 2 and 9; docs/operations.md, "Rotate
 * the root"). It works on the data folder of a stopped central site, under the folder's lock: the
 * root keys are needed for a few seconds only and no request to a running server can make the site
 * sign a root document. The next `site start` serves the new chain.
 */
import { mkdir, rename } from 'node:fs/promises';
import { basename } from 'node:path';
import {
  createRootDocument,
  fingerprintOf,
  SigningKey,
  trustRootOnFirstUse,
  writeKeyFile,
  type KeyFileOptions,
} from '../../trust/index.js';
import { appendAudit } from '../../admin/audit-log/index.js';
import { lockFolder } from '../../platform/lock-file.js';
import { siteDataLayout } from '../data-folder/layout.js';
import { readSiteConfig, writeSiteConfig } from '../data-folder/site-config.js';
import { keySecretFor, loadRootKeyFiles } from '../data-folder/site-keys.js';
import { databaseLocation, openSiteDatabase } from '../database/open.js';
import { inTransaction } from '../database/site-db.js';
import { saveRootDocument } from '../hierarchy/trust-store.js';
import { certificateValidity } from '../init/validity.js';
import { InvalidRequestError } from '../site-errors.js';
import { recertifyLocalSite, recertifyManagementPoints, reendorseTlsAuthorities } from './recertify.js';
import { settleRootKeyFiles, type Settlement } from './interrupted-rotation.js';
import { rootInForce, rootSignersFor } from './root-in-force.js';
import { RootKeyOfflineError, RotationChildSitesError } from './rotation-errors.js';

export interface RootRotationOptions {
  /** Signatures the new root requires (default: the threshold in force, at most `keys`). */
  threshold?: number;
  /** How many root keys the new version has (default: as many as the version in force). */
  keys?: number;
  /** Rotate although child sites hold certificates signed by the retired keys (docs/operations.md). */
  allowChildSites?: boolean;
  actor: string;
  now: Date;
  /** Lower key-file cost for tests only. */
  keyFileCost?: KeyFileOptions['cost'];
}

export interface RootRotationResult {
  site: string;
  previousVersion: number;
  version: number;
  threshold: number;
  keys: { keyId: string; fingerprint: string; file: string }[];
  expiresAt: string;
  /** The retired key files, moved out of keys/ (relative to the data folder). */
  retiredKeys: { keyId: string; fingerprint: string; file: string }[];
  siteCertificate: { siteCode: string; serial: number };
  mpCertificates: { name: string; serial: number }[];
  tlsCaEndorsements: number[];
  /** Child sites whose certificates are still signed by the retired keys (only with allowChildSites). */
  childSites: string[];
  /** An earlier rotation stopped half way: its key files were put in place, or removed (unused). */
  interruptedRotation: Settlement;
}

const maxRootKeys = 16;

export async function rotateRoot(dataDir: string, options: RootRotationOptions): Promise<RootRotationResult> {
  const layout = siteDataLayout(dataDir);
  const lock = await lockFolder(dataDir, 'steward trust rotate-root');
  try {
    let config = await readSiteConfig(layout.config);
    if (config.siteType !== 'central') {
      throw new RootKeyOfflineError(
        `site ${config.code} is a ${config.siteType} site: only the central site holds the root keys`,
      );
    }
    const secret = keySecretFor(config, layout);
    const database = await openSiteDatabase(databaseLocation(config.database ?? undefined, layout.database), {
      requireTls: config.databaseRequireTls === true,
    });
    try {
      const db = database.db;
      const now = options.now;
      const current = await rootInForce(db);
      const settlement = await settleRootKeyFiles(layout, config, secret, current);
      config = settlement.config;
      const heldFiles = await loadRootKeyFiles(config, layout, secret);
      const held = heldFiles.map((file) => file.key);
      const oldSigners = rootSignersFor(current, held);
      const keyCount = options.keys ?? current.keyIds.length;
      const threshold = options.threshold ?? Math.min(current.threshold, keyCount);
      if (!Number.isInteger(keyCount) || keyCount < 1 || keyCount > maxRootKeys) {
        throw new InvalidRequestError(`a root has 1 to ${maxRootKeys} keys, not ${keyCount}`);
      }
      if (!Number.isInteger(threshold) || threshold < 1 || threshold > keyCount) {
        throw new InvalidRequestError(
          `the threshold is 1 to the number of keys (${keyCount}), not ${threshold}`,
        );
      }
      const children = await db.selectFrom('sites').select('code').where('is_local', '=', false).execute();
      const childSites = children.map((row) => row.code).sort();
      if (childSites.length > 0 && options.allowChildSites !== true) {
        throw new RotationChildSitesError(
          `child sites ${childSites.join(', ')} hold certificates signed by the root keys this rotation ` +
            'retires; their agents would refuse them after following the rotation. See docs/operations.md ' +
            '("Rotate the root", child sites) and run again with --allow-child-sites once prepared',
        );
      }

      const newKeys = Array.from({ length: keyCount }, () => SigningKey.generate());
      const version = current.version + 1;
      const expiresAt = certificateValidity(now).root.toISOString();
      // C1: version N+1 carries signatures by a threshold of version N's keys and of its own keys.
      const document = createRootDocument({ version, keys: newKeys, threshold, issuedAt: now, expiresAt }, [
        ...oldSigners,
        ...newKeys,
      ]);
      // The rules every agent and child site applies, checked here before anything is written.
      const followed = trustRootOnFirstUse([...current.chain, document.encoded], now);
      if (followed.version !== version) {
        throw new InvalidRequestError(
          `the stored root chain and the new document do not lead to version ${version}`,
        );
      }

      const keyOptions = options.keyFileCost === undefined ? {} : { cost: options.keyFileCost };
      for (const [index, key] of newKeys.entries()) {
        await writeKeyFile(layout.incomingRootKey(index + 1), key, secret, keyOptions);
      }
      const reissued = await inTransaction(db, async (trx) => {
        await saveRootDocument(trx, document, version, expiresAt);
        const siteCertificate = await recertifyLocalSite(trx, newKeys, now);
        const mpCertificates = await recertifyManagementPoints(trx, config.code, newKeys, now);
        const tlsCaEndorsements = await reendorseTlsAuthorities(trx, newKeys, now);
        await appendAudit(
          trx,
          {
            actor: options.actor,
            action: 'trust.rotate-root',
            objectClass: 'site',
            objectId: config.code,
            details: {
              previousVersion: current.version,
              version,
              threshold,
              keyIds: newKeys.map((key) => key.keyId),
              retiredKeyIds: held.map((key) => key.keyId),
              siteCertificateSerial: siteCertificate.serial,
              mpCertificates,
              tlsCaEndorsements,
              childSites,
            },
          },
          now,
        );
        return { siteCertificate, mpCertificates, tlsCaEndorsements };
      });

      // The database holds the new root: the key files follow (old ones out of keys/, new ones in).
      await mkdir(layout.retiredKeysDir, { recursive: true, mode: 0o700 });
      const retiredKeys: RootRotationResult['retiredKeys'] = [];
      for (const file of heldFiles) {
        const target = layout.retiredRootKey(current.version, file.index);
        await rename(layout.rootKey(file.index), target);
        retiredKeys.push({
          keyId: file.key.keyId,
          fingerprint: fingerprintOf(file.key.keyId),
          file: `retired-keys/${basename(target)}`,
        });
      }
      for (let index = 1; index <= keyCount; index += 1) {
        await rename(layout.incomingRootKey(index), layout.rootKey(index));
      }
      await writeSiteConfig(layout.config, { ...config, rootKeyCount: keyCount });
      return {
        site: config.code,
        previousVersion: current.version,
        version,
        threshold,
        keys: newKeys.map((key, index) => ({
          keyId: key.keyId,
          fingerprint: fingerprintOf(key.keyId),
          file: `keys/root-${index + 1}.key`,
        })),
        expiresAt,
        retiredKeys,
        ...reissued,
        childSites,
        interruptedRotation: settlement.settled,
      };
    } finally {
      await database.close();
    }
  } finally {
    await lock.release();
  }
}
