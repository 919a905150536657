/**
 * `steward agent enroll --directory` (DESIGN.md sections 3 and 4): the site by boundary and its
 * management points by site code, from the directory; the root from the site's root chain entry
 * (C1, `rootSource: directory`), or anchored on `--root-key`, which that chain must then contain.
 * In `directory-only` mode the MP location, the root and the MP key all come from the directory:
 * enrolment refuses an MP whose certified key the directory does not publish, and never trusts on
 * first use. Entries ignored on the way (S4) are queued as status 11020 for the site.
 */
import type { DirectoryConfig } from '../../directory/lookup/index.js';
import { directorySettingsOf } from '../../directory/lookup/directory-settings.js';
import { LocatorError, ManagementPointUnreachableError, RootRequiredError } from '../agent-errors.js';
import { enrollAgent, type EnrollOptions, type EnrollResult } from '../enroll.js';
import { agentLayout } from '../state/agent-layout.js';
import { ManagementPointClient } from '../transport/management-point-client.js';
import type { DirectoryLocation } from './directory-locator.js';
import { rememberReported, writeDirectoryState } from './directory-refresh.js';

/** At most this many ignored entries are reported at enrolment (each once). */
const maxReportedAtEnrolment = 10;

export type DirectoryEnrollOptions = Omit<
  EnrollOptions,
  'mpUrl' | 'anchor' | 'checkTrust' | 'directory' | 'statusReports'
> & {
  directory: DirectoryConfig;
  /** Locate the site by these addresses (boundary), or take this site code. */
  target: { addresses: readonly string[] } | { siteCode: string };
};

export interface DirectoryEnrollResult extends EnrollResult {
  boundary: string | null;
  /** The directory entries that were ignored, and why (reported to the site as status 11020). */
  rejected: { dn: string; writer: string | undefined; reason: string }[];
}

/** The first management point that answers, in the order the directory lists them. */
async function reachableManagementPoint(located: DirectoryLocation): Promise<string> {
  let lastError: unknown;
  for (const url of located.managementPoints.flatMap((mp) => mp.urls)) {
    try {
      await new ManagementPointClient(url).trust(null);
      return url;
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError instanceof Error
    ? lastError
    : new ManagementPointUnreachableError(`no management point of site ${located.siteCode} answered`);
}

export async function enrollFromDirectory(options: DirectoryEnrollOptions): Promise<DirectoryEnrollResult> {
  const { directory, target, ...enrol } = options;
  // The settings are checked (and the password file read) before anything is written.
  const settings = directorySettingsOf(directory);
  // The LDAP client is loaded only by the commands that read a directory (see directory-refresh.ts).
  const { locateInDirectory, rejectionStrings } = await import('./directory-locator.js');
  const located = await locateInDirectory(directory, {
    target,
    now: options.now,
    ...(options.rootPin === null ? {} : { pin: options.rootPin }),
  });
  if (located.managementPoints.length === 0) {
    throw new LocatorError(
      `the directory names no management point of site ${located.siteCode} that verifies`,
    );
  }
  if (options.mode === 'directory-only' && located.anchor === undefined) {
    throw new RootRequiredError(
      `directory-only mode takes the root from the directory, which holds no root chain of site ${located.siteCode}`,
    );
  }
  const directoryKeys = new Set(located.managementPoints.map((mp) => mp.keyId));
  const { fresh, reported } = rememberReported(undefined, located.rejected.slice(0, maxReportedAtEnrolment));
  const result = await enrollAgent({
    ...enrol,
    mpUrl: await reachableManagementPoint(located),
    ...(located.anchor === undefined ? {} : { anchor: located.anchor }),
    directory: settings,
    statusReports: fresh.map((entry) => ({
      name: 'directory-entry-rejected',
      insertionStrings: rejectionStrings(entry),
    })),
    checkTrust: (view, siteCode) => {
      if (siteCode !== located.siteCode) {
        throw new LocatorError(
          `the management point serves site ${siteCode}, not site ${located.siteCode} that the directory names`,
        );
      }
      if (options.mode !== 'directory-only') return;
      // Directory-only: the MP key comes from the directory, whatever the MP offers (C2 still applies).
      if (!directoryKeys.has(view.mpKey.keyId)) {
        throw new LocatorError(
          `management point ${view.mpName} offered a certificate the directory does not publish for site ${located.siteCode}`,
        );
      }
    },
  });
  await writeDirectoryState(agentLayout(options.dataDir), {
    siteCode: located.siteCode,
    managementPoints: located.managementPoints.map((mp) => ({ ...mp, urls: mp.urls.slice(0, 8) })),
    refreshedAt: options.now.toISOString(),
    reported,
  });
  return {
    ...result,
    boundary: located.boundary,
    rejected: located.rejected.map((entry) => ({ dn: entry.dn, writer: entry.writer, reason: entry.reason })),
  };
}
