import { access } from 'node:fs/promises';
import { readKeyFile, type KeySecret, type SigningKey } from '../../trust/index.js';
import { KeyUnlockError } from '../site-errors.js';
import type { SiteConfig } from './site-config.js';
import type { SiteDataLayout } from './layout.js';

/** The private keys a site server holds while it runs. Root keys only at a central site. */
export interface SiteKeys {
  readonly root: readonly SigningKey[];
  readonly site: SigningKey;
  readonly mp: SigningKey;
}

/** How the key files of this data folder are unlocked: the secret file, or STEWARD_KEY_PASSPHRASE. */
export function keySecretFor(config: SiteConfig, layout: SiteDataLayout, env = process.env): KeySecret {
  if (config.keyProtection === 'passphrase') {
    const passphrase = env['STEWARD_KEY_PASSPHRASE'];
    if (passphrase === undefined || passphrase === '') {
      throw new KeyUnlockError('the site keys are protected by a passphrase: set STEWARD_KEY_PASSPHRASE');
    }
    return { passphrase };
  }
  return { secretFile: layout.keySecret };
}

export async function loadSiteKeys(config: SiteConfig, layout: SiteDataLayout): Promise<SiteKeys> {
  const secret = keySecretFor(config, layout);
  return {
    root: (await loadRootKeyFiles(config, layout, secret)).map((file) => file.key),
    site: await readKeyFile(layout.siteKey, secret),
    mp: await readKeyFile(layout.mpKey, secret),
  };
}

/** The root key files present in keys/ (root-1.key to root-N.key), with their numbers. */
export async function loadRootKeyFiles(
  config: SiteConfig,
  layout: SiteDataLayout,
  secret: KeySecret,
): Promise<{ index: number; key: SigningKey }[]> {
  const files: { index: number; key: SigningKey }[] = [];
  for (let index = 1; index <= config.rootKeyCount; index += 1) {
    const path = layout.rootKey(index);
    // A root key moved offline is simply absent: the site then cannot certify or rotate until it returns.
    if (await exists(path)) files.push({ index, key: await readKeyFile(path, secret) });
  }
  return files;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
