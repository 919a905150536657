/**
 * Opens a file inside the content library without following a symbolic link anywhere below the
 * library folder: each segment is checked with lstat, the file is opened with O_NOFOLLOW, and the
 * opened file must be the one lstat saw (a segment swapped for a link in between is caught). The
 * library never contains links (import creates none), so a link is a planted escape attempt.
 */
import { constants, type Stats } from 'node:fs';
import { lstat, open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { isErrno } from './errno.js';

export type SafeStatResult = { kind: 'found'; info: Stats } | { kind: 'missing' | 'link'; at: string };

export type SafeOpenResult =
  | { kind: 'opened'; handle: FileHandle; info: Stats }
  | { kind: 'missing' | 'not-a-file' | 'link'; at: string };

/** O_NOFOLLOW where the platform has it (not on Windows, whose library holds no links by import). */
export const noFollowFlag: number = (constants as Partial<typeof constants>).O_NOFOLLOW ?? 0;

/** lstat of `libraryDir/segments…`, refusing a link at any segment. */
export async function statWithoutLinks(
  libraryDir: string,
  segments: readonly string[],
): Promise<SafeStatResult> {
  let path = libraryDir;
  let last: Stats | undefined;
  for (const [index, segment] of segments.entries()) {
    path = join(path, segment);
    const at = segments.slice(0, index + 1).join('/');
    try {
      last = await lstat(path);
    } catch (cause) {
      if (isErrno(cause, 'ENOENT', 'ENOTDIR')) return { kind: 'missing', at };
      throw cause;
    }
    if (last.isSymbolicLink()) return { kind: 'link', at };
  }
  if (last === undefined) throw new RangeError('statWithoutLinks needs at least one segment');
  return { kind: 'found', info: last };
}

/** Opens `libraryDir/segments…` for reading; the caller closes the handle. */
export async function openWithoutLinks(
  libraryDir: string,
  segments: readonly string[],
): Promise<SafeOpenResult> {
  const at = segments.join('/');
  const seen = await statWithoutLinks(libraryDir, segments);
  if (seen.kind !== 'found') return seen;
  if (!seen.info.isFile()) return { kind: 'not-a-file', at };
  let handle: FileHandle;
  try {
    handle = await open(join(libraryDir, ...segments), constants.O_RDONLY | noFollowFlag);
  } catch (cause) {
    if (isErrno(cause, 'ELOOP')) return { kind: 'link', at };
    if (isErrno(cause, 'ENOENT', 'ENOTDIR')) return { kind: 'missing', at };
    throw cause;
  }
  const info = await handle.stat();
  if (info.dev !== seen.info.dev || info.ino !== seen.info.ino || !info.isFile()) {
    await handle.close();
    return { kind: 'link', at };
  }
  return { kind: 'opened', handle, info };
}
