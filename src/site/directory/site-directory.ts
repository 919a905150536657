/**
 * What a site server does with the `directory` block of site.json (docs/directory.md): publish its
 * entries automatically (SiteDirectoryPublisher), approve clients that have a machine account when
 * `approval` is `directory` (S1), and let directory users sign in as administrators.
 */
import type { DirectorySignIn } from '../../admin/identity/index.js';
import type { SiteConfig } from '../data-folder/site-config.js';
import type { SiteDb } from '../database/site-db.js';
import { DataFolderError } from '../site-errors.js';
import { findMachineAccount } from './machine-accounts.js';
import { SiteDirectoryPublisher, type PublisherLog } from './site-publisher.js';

export interface SiteDirectoryServices {
  publisher: SiteDirectoryPublisher | undefined;
  vouch: ((hostname: string) => Promise<string | undefined>) | undefined;
  signIn: DirectorySignIn | undefined;
}

export function siteDirectoryServices(
  config: SiteConfig,
  db: SiteDb,
  log: PublisherLog,
): SiteDirectoryServices {
  const directory = config.directory;
  if (directory === undefined) {
    if (config.approval === 'directory') {
      throw new DataFolderError(
        'site.json asks for directory approval but names no directory (steward directory configure)',
      );
    }
    return { publisher: undefined, vouch: undefined, signIn: undefined };
  }
  const vouch =
    config.approval !== 'directory'
      ? undefined
      : async (hostname: string) => {
          try {
            const account = await findMachineAccount(directory, hostname);
            if (account !== undefined)
              log.info({ hostname, account }, 'a machine account vouches for a client');
            return account;
          } catch (error) {
            log.warn({ err: error, hostname }, 'directory approval could not search for a machine account');
            return undefined;
          }
        };
  return {
    publisher:
      directory.publish === false
        ? undefined
        : new SiteDirectoryPublisher({ db, siteCode: config.code, directory, log }),
    vouch,
    signIn: { settings: directory },
  };
}
