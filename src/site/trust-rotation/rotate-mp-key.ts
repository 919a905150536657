/**
 * `steward trust rotate-mp --data DIR` (DESIGN.md section 9; docs/operations.md, "Rotate the
 * management point key"): the site's embedded management point gets a new key and a root-signed
 * certificate for it; the earlier certificates of the MP are marked revoked. Like the root rotation
 * it works on the data folder of a stopped central site, under the folder's lock.
 */
import { rename } from 'node:fs/promises';
import {
  envelopePayloadBytes,
  fingerprintOf,
  parseEnvelope,
  parsePayload,
  SigningKey,
  writeKeyFile,
  type KeyFileOptions,
} from '../../trust/index.js';
import { appendAudit } from '../../admin/audit-log/index.js';
import { lockFolder } from '../../platform/lock-file.js';
import { siteDataLayout } from '../data-folder/layout.js';
import { readSiteConfig } from '../data-folder/site-config.js';
import { keySecretFor, loadRootKeyFiles } from '../data-folder/site-keys.js';
import { databaseLocation, openSiteDatabase } from '../database/open.js';
import { inTransaction } from '../database/site-db.js';
import { currentCertificate } from '../hierarchy/trust-store.js';
import { certifyManagementPointKey } from '../site-systems/mp-certificates.js';
import { DataFolderError } from '../site-errors.js';
import { settleMpKeyFile, settleRootKeyFiles } from './interrupted-rotation.js';
import { rootInForce, rootSignersFor } from './root-in-force.js';
import { RootKeyOfflineError } from './rotation-errors.js';

export interface MpKeyRotationOptions {
  actor: string;
  now: Date;
  /** Lower key-file cost for tests only. */
  keyFileCost?: KeyFileOptions['cost'];
}

export interface MpKeyRotationResult {
  site: string;
  mpName: string;
  previousKey: { keyId: string; fingerprint: string };
  key: { keyId: string; fingerprint: string };
  certificate: { serial: number; expiresAt: string; urls: string[] };
  /** Serials of the MP's certificates marked revoked by this rotation. */
  revokedSerials: number[];
}

export async function rotateMpKey(
  dataDir: string,
  options: MpKeyRotationOptions,
): Promise<MpKeyRotationResult> {
  const layout = siteDataLayout(dataDir);
  const lock = await lockFolder(dataDir, 'steward trust rotate-mp');
  try {
    const config = await readSiteConfig(layout.config);
    if (config.siteType !== 'central') {
      throw new RootKeyOfflineError(
        `site ${config.code} is a ${config.siteType} site: its management point is certified by the ` +
          'central site, which holds the root keys',
      );
    }
    const secret = keySecretFor(config, layout);
    const database = await openSiteDatabase(databaseLocation(config.database ?? undefined, layout.database), {
      requireTls: config.databaseRequireTls === true,
    });
    try {
      const db = database.db;
      const now = options.now;
      const root = await rootInForce(db);
      const { config: settled } = await settleRootKeyFiles(layout, config, secret, root);
      const held = (await loadRootKeyFiles(settled, layout, secret)).map((file) => file.key);
      const signers = rootSignersFor(root, held);
      const mpName = `${config.code}-MP1`;
      const current = await currentCertificate(db, 'mp-certificate', mpName);
      if (current === undefined) throw new DataFolderError(`no certificate for management point ${mpName}`);
      await settleMpKeyFile(layout, secret, current.keyId);
      const urls = parsePayload('mp-certificate', envelopePayloadBytes(parseEnvelope(current.envelope))).urls;
      const revoked = await db
        .selectFrom('certificates')
        .select('serial')
        .where('kind', '=', 'mp-certificate')
        .where('subject', '=', mpName)
        .where('revoked_at', 'is', null)
        .orderBy('serial')
        .execute();

      const key = SigningKey.generate();
      const keyOptions = options.keyFileCost === undefined ? {} : { cost: options.keyFileCost };
      await writeKeyFile(layout.incomingMpKey, key, secret, keyOptions);
      const certified = await inTransaction(db, async (trx) => {
        const issued = await certifyManagementPointKey(
          trx,
          {
            siteCode: config.code,
            mpName,
            urls,
            mpKey: key.publicRecord(),
            rootKeys: signers,
            revokePrevious: true,
          },
          now,
        );
        // The MP's site system row names its certified key: lists signed by the old key are no longer
        // served as they are, but signed again with the new one (C3).
        await trx
          .updateTable('site_systems')
          .set({ key_id: key.keyId, certificate: issued.envelope })
          .where('site_code', '=', config.code)
          .where('role', '=', 'management-point')
          .where('name', '=', mpName)
          .execute();
        await appendAudit(
          trx,
          {
            actor: options.actor,
            action: 'trust.rotate-mp',
            objectClass: 'site',
            objectId: config.code,
            details: {
              mpName,
              previousKeyId: current.keyId,
              keyId: key.keyId,
              serial: issued.serial,
              revokedSerials: revoked.map((row) => row.serial),
            },
          },
          now,
        );
        return issued;
      });
      // The new key takes the old one's place in one rename: the old MP key is destroyed.
      await rename(layout.incomingMpKey, layout.mpKey);
      return {
        site: config.code,
        mpName,
        previousKey: { keyId: current.keyId, fingerprint: fingerprintOf(current.keyId) },
        key: { keyId: key.keyId, fingerprint: fingerprintOf(key.keyId) },
        certificate: { serial: certified.serial, expiresAt: certified.expiresAt.toISOString(), urls },
        revokedSerials: revoked.map((row) => row.serial),
      };
    } finally {
      await database.close();
    }
  } finally {
    await lock.release();
  }
}
