import { appendAudit } from '../../admin/audit-log/index.js';
import { lockFolder } from '../../platform/lock-file.js';
import { siteDataLayout } from '../data-folder/layout.js';
import { readSiteConfig, writeSiteConfig } from '../data-folder/site-config.js';
import { databaseLocation, openSiteDatabase } from '../database/open.js';
import { checkModeChange, securityModeOf, type SecurityMode } from './security-mode.js';

export interface SecurityModeSwitch {
  site: string;
  from: SecurityMode;
  to: SecurityMode;
  changed: boolean;
}

/**
 * `steward site security-mode --data DIR advanced|standard`: records the mode in site.json and the
 * switch in the audit log. The site must be stopped (the data folder lock is taken, so the switch
 * and its audit entry cannot race a running server); the new mode applies when it starts. Standard
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
    return { site: before.code, from: to, to, changed: false };
  }
  const lock = await lockFolder(dataDir, 'steward site security-mode');
  try {
    // Read again under the lock: site.json may have changed since the first look.
    const config = await readSiteConfig(layout.config);
    const from = securityModeOf(config);
    if (checkModeChange(from, to) === 'unchanged') return { site: config.code, from, to, changed: false };
    const database = await openSiteDatabase(databaseLocation(config.database ?? undefined, layout.database), {
      requireTls: config.databaseRequireTls === true,
    });
    try {
      // Logged first: a switch that is not in the audit log must not happen.
      await appendAudit(
        database.db,
        {
          actor: options.actor,
          action: 'site.security-mode',
          objectClass: 'site',
          objectId: config.code,
          details: { from, to },
        },
        options.now,
      );
      await writeSiteConfig(layout.config, { ...config, securityMode: to });
    } finally {
      await database.close();
    }
    return { site: config.code, from, to, changed: true };
  } finally {
    await lock.release();
  }
}
