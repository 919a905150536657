import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StewardError } from '../trust/index.js';

const LOCK_NAME = 'steward.lock';

export interface DataFolderLock {
  readonly path: string;
  release(): Promise<void>;
}

/**
 * Takes the data folder's lock file (DESIGN.md section 6: PGlite has no lock of its own, so two
 * openers would silently lose writes). A lock left by a process that no longer runs is taken over.
 */
export async function lockFolder(dataDir: string, purpose: string): Promise<DataFolderLock> {
  const path = join(dataDir, LOCK_NAME);
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      const handle = await open(path, 'wx', 0o600);
      await handle.writeFile(JSON.stringify({ pid: process.pid, purpose, since: new Date().toISOString() }));
      await handle.close();
      return { path, release: () => rm(path, { force: true }) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = await readHolder(path);
      if (holder !== undefined && processIsAlive(holder.pid)) {
        throw new DataFolderLockedError(
          `the data folder is in use by process ${holder.pid} (${holder.purpose}); stop it first`,
        );
      }
      await rm(path, { force: true });
    }
  }
  throw new DataFolderLockedError('the data folder lock could not be taken');
}

async function readHolder(path: string): Promise<{ pid: number; purpose: string } | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as { pid?: unknown; purpose?: unknown };
    if (typeof parsed.pid === 'number' && Number.isInteger(parsed.pid)) {
      return { pid: parsed.pid, purpose: typeof parsed.purpose === 'string' ? parsed.purpose : 'unknown' };
    }
  } catch {
    // An unreadable or half-written lock file is treated as stale.
  }
  return undefined;
}

function processIsAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class DataFolderLockedError extends StewardError {
  readonly code = 'ERR_DATA_FOLDER_LOCKED';
  override readonly status = 409;
}
