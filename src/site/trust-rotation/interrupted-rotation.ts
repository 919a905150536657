/**
 * A rotation writes its new key files as keys/incoming-*.key, commits the database, then moves the
 * files into place. A rotation stopped in between (killed, power cut) is settled by the next one
 * before it does its own work: when the database holds the incoming keys, the file step is finished;
 * when it does not (stopped before its transaction), the incoming keys certify nothing and are removed.
 */
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { readKeyFile, type KeySecret } from '../../trust/index.js';
import type { SiteDataLayout } from '../data-folder/layout.js';
import { writeSiteConfig, type SiteConfig } from '../data-folder/site-config.js';
import { loadRootKeyFiles } from '../data-folder/site-keys.js';
import type { RootInForce } from './root-in-force.js';

export type Settlement = 'finished' | 'discarded' | null;

const incomingRootName = /^incoming-root-(\d{1,2})\.key$/;

/** Settles the root key files of an interrupted rotation; returns the site configuration to use. */
export async function settleRootKeyFiles(
  layout: SiteDataLayout,
  config: SiteConfig,
  secret: KeySecret,
  current: RootInForce,
): Promise<{ config: SiteConfig; settled: Settlement }> {
  const indexes = (await readdir(layout.keysDir))
    .map((name) => incomingRootName.exec(name)?.[1])
    .filter((index): index is string => index !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
  if (indexes.length === 0) return { config, settled: null };
  const incoming = await Promise.all(
    indexes.map(async (index) => ({ index, key: await readKeyFile(layout.incomingRootKey(index), secret) })),
  );
  const committed =
    incoming.length === current.keyIds.length &&
    incoming.every((file) => current.keyIds.includes(file.key.keyId));
  if (!committed) {
    for (const file of incoming) await rm(layout.incomingRootKey(file.index), { force: true });
    return { config, settled: 'discarded' };
  }
  await mkdir(layout.retiredKeysDir, { recursive: true, mode: 0o700 });
  for (const file of await loadRootKeyFiles(config, layout, secret)) {
    if (current.keyIds.includes(file.key.keyId)) continue;
    await rename(layout.rootKey(file.index), layout.retiredRootKey(current.version - 1, file.index));
  }
  for (const file of incoming) await rename(layout.incomingRootKey(file.index), layout.rootKey(file.index));
  const settled = { ...config, rootKeyCount: Math.max(...indexes) };
  await writeSiteConfig(layout.config, settled);
  return { config: settled, settled: 'finished' };
}

/** Settles keys/incoming-mp.key: it becomes keys/mp.key when the MP's current certificate names it. */
export async function settleMpKeyFile(
  layout: SiteDataLayout,
  secret: KeySecret,
  certifiedKeyId: string,
): Promise<Settlement> {
  const names = await readdir(layout.keysDir);
  if (!names.includes('incoming-mp.key')) return null;
  const key = await readKeyFile(layout.incomingMpKey, secret);
  if (key.keyId !== certifiedKeyId) {
    await rm(layout.incomingMpKey, { force: true });
    return 'discarded';
  }
  await rename(layout.incomingMpKey, layout.mpKey);
  return 'finished';
}
