import { readdir } from 'node:fs/promises';
import { siteDataLayout } from '../../site/data-folder/layout.js';
import { fail, pass, warn, type SecurityCheck } from '../security-check.js';

const rootKeyFile = /^root-\d+\.key$/;

/** The root key files (`keys/root-N.key`) in a data folder: names only, never read. */
export async function rootKeyFiles(dataDir: string): Promise<string[]> {
  try {
    return (await readdir(siteDataLayout(dataDir).keysDir)).filter((name) => rootKeyFile.test(name)).sort();
  } catch {
    return [];
  }
}

/**
 * The root key kept offline (DESIGN.md section 2; docs/operations.md, "Keys and how they are
 * protected"): it certifies every site and MP key, so whoever holds it holds the hierarchy. Only
 * its presence in the data folder is looked at, never its content.
 *
 * - pass: no root key file here (a central site whose root key is offline, or any other site);
 * - warn: a central site holds it, encrypted with a passphrase that is not stored beside it;
 * - fail: a central site holds it beside the secret file that unlocks it (anyone with a copy of the
 *   data folder or its backup holds the root), or a site other than the central site holds one.
 */
export const rootKeyOffline: SecurityCheck = {
  id: 'root-key-offline',
  practice: 'Keep the root key offline, out of the site server’s data folder.',
  run: async ({ config, dataDir }) => {
    const files = await rootKeyFiles(dataDir);
    const listed = files.map((name) => `keys/${name}`).join(', ');
    const fix =
      'Move the root key files to offline storage (removable media in a safe) and bring them back ' +
      'only to join a site, renew certificates or rotate the root; the site keeps running without them ' +
      '(docs/operations.md, "Keys and how they are protected"). Use STEWARD_KEY_PASSPHRASE meanwhile.';
    if (files.length === 0) {
      return pass(
        config.siteType === 'central'
          ? 'No root key file is in the data folder: the root key is kept offline.'
          : `No root key file is in the data folder of this ${config.siteType} site.`,
      );
    }
    if (config.siteType !== 'central') {
      return fail(
        `This ${config.siteType} site holds root key files (${listed}): only the central site's administrators should ever hold the root key.`,
        'Remove the root key files from this site (the central site certifies everything it needs) and keep them offline.',
      );
    }
    if (config.keyProtection === 'secret-file') {
      return fail(
        `The root key is online (${listed}), and the secret file that unlocks it (keys/key-secret) is beside it.`,
        fix,
      );
    }
    return warn(
      `The root key is online (${listed}), encrypted with a passphrase that is not stored here.`,
      fix,
    );
  },
};
