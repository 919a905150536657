import { appendAudit } from '../../admin/audit-log/index.js';
import { lockFolder } from '../../platform/lock-file.js';
import { siteDataLayout } from '../data-folder/layout.js';
import { readSiteConfig, writeSiteConfig } from '../data-folder/site-config.js';
import { databaseLocation, openSiteDatabase } from '../database/open.js';
import { inTransaction } from '../database/site-db.js';
import { revokeSharedCredentials } from '../site-systems/system-tokens.js';
import { checkModeChange, securityModeOf, type SecurityMode } from './security-mode.js';

export interface SecurityModeSwitch {
  site: string;
  from: SecurityMode;
  to: SecurityMode;
  changed: boolean;
  /** Shared site-system credentials revoked by the switch (standard mode's service account). */
  revokedSharedCredentials: number;
}

/**
 * `steward site security-mode --data DIR advanced|standard`: records the mode in site.json and the
 * switch in the audit log. The site must be stopped (the data folder lock is taken, so the switch
 * and its audit entry cannot race a running server); the new mode applies when it starts. The
 * shared site-system credential of standard mode is revoked at once. Standard
 * to advanced only: the other way is refused with ERR_SECURITY_MODE_DOWNGRADE before anything is
 * written.
 */
export async function switchSecurityMode(
  dataDir: string,
  to: SecurityMode,
  options: { actor: string; now: Date },
): Promise<SecurityModeSwitch> {
  const layout = siteDataLayout(dataDir);
  const before = await readSiteConfig(layout.config);
  if (checkModeChange(securityModeOf(before), to) === 'unchanged') {
    return { site: before.code, from: to, to, changed: false, revokedSharedCredentials: 0 };
  }
  const lock = await lockFolder(dataDir, 'steward site security-mode');
  try {
    // Read again under the lock: site.json may have changed since the first look.
    const config = await readSiteConfig(layout.config);
    const from = securityModeOf(config);
    if (checkModeChange(from, to) === 'unchanged')
      return { site: config.code, from, to, changed: false, revokedSharedCredentials: 0 };
    const database = await openSiteDatabase(databaseLocation(config.database ?? undefined, layout.database), {
      requireTls: config.databaseRequireTls === true,
    });
    let revokedSharedCredentials: number;
    try {
      // Logged first: a switch that is not in the audit log must not happen. The shared
      // site-system credential is revoked in the same transaction: no install uses it again.
      revokedSharedCredentials = await inTransaction(database.db, async (trx) => {
        await appendAudit(
          trx,
          {
            actor: options.actor,
            action: 'site.security-mode',
            objectClass: 'site',
            objectId: config.code,
            details: { from, to },
          },
          options.now,
        );
        return revokeSharedCredentials(trx, options.now);
      });
      await writeSiteConfig(layout.config, { ...config, securityMode: to });
    } finally {
      await database.close();
    }
    return { site: config.code, from, to, changed: true, revokedSharedCredentials };
  } finally {
    await lock.release();
  }
}
