/**
 * Directory-only mode after enrolment (DESIGN.md section 3): the management points an agent talks
 * to, and the MP keys it accepts, come from the directory, not from what a management point says.
 * On each trust refresh (at most once per `refreshMs`, and always on the first cycle of a process
 * and when the MP met is not one of those known) the agent reads its site's MP entries again,
 * verified against the root it holds (S4, C2). When the directory cannot be reached, the last list
 * read from it is used. Entries ignored on the way are reported once each (status 11020).
 */
import { join } from 'node:path';
import { z } from 'zod';
import type { RejectedEntry } from '../../directory/lookup/index.js';
import { directoryConfigOf } from '../../directory/lookup/directory-settings.js';
import { sha256Hex } from '../../trust/index.js';
import { LocatorError } from '../agent-errors.js';
import type { AgentConfig } from '../state/agent-config.js';
import type { AgentLayout } from '../state/agent-layout.js';
import { readState, writeState } from '../state/json-state.js';
import { deriveRoot, readTrustState, type TrustView } from '../trust/agent-trust.js';

const directoryStateSchema = z.strictObject({
  siteCode: z.string(),
  managementPoints: z
    .array(z.strictObject({ mpName: z.string(), urls: z.array(z.url()).min(1).max(8), keyId: z.string() }))
    .max(64),
  refreshedAt: z.string(),
  /** Hashes of rejected entries already reported (dn and reason), newest last. */
  reported: z.array(z.string()).max(256),
});

export type DirectoryState = z.output<typeof directoryStateSchema>;

/** state/directory.json: what the directory last said (directory-only agents). */
export function directoryStatePath(layout: AgentLayout): string {
  return join(layout.stateDir, 'directory.json');
}

export async function readDirectoryState(layout: AgentLayout): Promise<DirectoryState | undefined> {
  return readState(directoryStatePath(layout), directoryStateSchema);
}

/** Keeps the report-once memory bounded: the most recent 256 entries. */
export function rememberReported(state: DirectoryState | undefined, rejected: readonly RejectedEntry[]) {
  const known = new Set(state?.reported ?? []);
  const fresh = rejected.filter((entry) => !known.has(rejectionKey(entry)));
  return {
    fresh,
    reported: [...(state?.reported ?? []), ...fresh.map(rejectionKey)].slice(-256),
  };
}

function rejectionKey(entry: RejectedEntry): string {
  return sha256Hex(`${entry.dn.toLowerCase()}\n${entry.reason}`).slice(0, 32);
}

export async function writeDirectoryState(layout: AgentLayout, state: DirectoryState): Promise<void> {
  await writeState(directoryStatePath(layout), state);
}

export const defaultDirectoryRefreshMs = 5 * 60_000;

export class DirectoryLocations {
  #lastRefresh: number | undefined;

  constructor(
    private readonly layout: AgentLayout,
    private readonly config: AgentConfig & { directory: NonNullable<AgentConfig['directory']> },
    private readonly report: (insertionStrings: string[]) => Promise<void>,
    private readonly log: (line: string) => void,
    private readonly refreshMs = defaultDirectoryRefreshMs,
  ) {}

  /** The MP URLs to try, in directory order: refreshed from the directory when due. */
  async managementPointUrls(now: Date): Promise<string[]> {
    const state = await this.#current(now, false);
    const urls = [...new Set(state?.managementPoints.flatMap((mp) => mp.urls) ?? [])];
    return urls.length > 0 ? urls : this.config.managementPoints;
  }

  /** Throws (ERR_LOCATOR) unless the MP's certified key is one the directory publishes for the site. */
  async checkManagementPoint(view: TrustView, now: Date): Promise<void> {
    const known = (state: DirectoryState | undefined) =>
      state?.managementPoints.some((mp) => mp.keyId === view.mpKey.keyId) === true;
    if (known(await readDirectoryState(this.layout))) return;
    if (known(await this.#current(now, true))) return;
    throw new LocatorError(
      `management point ${view.mpName} is not one the directory publishes for site ${this.config.siteCode}; ` +
        'in directory-only mode its key is refused',
    );
  }

  async #current(now: Date, force: boolean): Promise<DirectoryState | undefined> {
    const held = await readDirectoryState(this.layout);
    const due =
      force || this.#lastRefresh === undefined || now.getTime() - this.#lastRefresh >= this.refreshMs;
    if (!due) return held;
    this.#lastRefresh = now.getTime();
    try {
      return await this.#refresh(held, now);
    } catch (error) {
      this.log(
        `the directory could not be read; using the management points it named last: ${String(error)}`,
      );
      return held;
    }
  }

  async #refresh(held: DirectoryState | undefined, now: Date): Promise<DirectoryState> {
    const trust = await readTrustState(this.layout.trust);
    if (trust === undefined) throw new LocatorError('the trust state is missing; enrol again');
    // C1: the root the agent holds (and valid rotations from it); the MP certificates must chain to it (C2).
    // The LDAP client is loaded when a directory is read, not at start: most agents use none.
    const { locateInDirectory, rejectionStrings } = await import('./directory-locator.js');
    const located = await locateInDirectory(directoryConfigOf(this.config.directory), {
      target: { siteCode: this.config.siteCode },
      held: deriveRoot(trust.chain, trust.pin, now),
      now,
    });
    const { fresh, reported } = rememberReported(held, located.rejected);
    for (const entry of fresh) await this.report(rejectionStrings(entry));
    const state: DirectoryState = {
      siteCode: this.config.siteCode,
      managementPoints: located.managementPoints.map((mp) => ({ ...mp, urls: mp.urls.slice(0, 8) })),
      refreshedAt: now.toISOString(),
      reported,
    };
    await writeDirectoryState(this.layout, state);
    return state;
  }
}
