/**
 * Lists a package source folder before anything is copied (C6: every limit is checked first). Only
 * regular files and folders are accepted; each relative path must pass the manifest's path rules.
 */
import { lstat, opendir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { contentPathProblem } from '../../trust/index.js';
import { PackageLimitError, PackageSourceError } from './errors.js';

export type ImportLimits = {
  /** Files in one package (the manifest schema's maximum is 10,000). */
  maxFiles: number;
  /** Folders in one package; bounds the walk of a folder tree without files. */
  maxFolders: number;
  /** UTF-8 bytes of one relative path. */
  maxPathBytes: number;
  /** Sum of all file sizes. */
  maxTotalBytes: number;
};

export const defaultImportLimits: Readonly<ImportLimits> = Object.freeze({
  maxFiles: 10_000,
  maxFolders: 10_000,
  maxPathBytes: 1024,
  maxTotalBytes: 8 * 1024 ** 3,
});

/** One regular file of the source, as the walk saw it. */
export type SourceFile = { path: string; absolutePath: string; size: number; dev: number; ino: number };

export type SourceListing = { files: SourceFile[]; totalSize: number };

/** Sorted by path (UTF-16 code units), the order of the manifest. */
export async function listSourceFolder(sourceDir: string, limits: ImportLimits): Promise<SourceListing> {
  const root = await stat(sourceDir).catch((cause: unknown) => {
    throw new PackageSourceError(`The source folder ${sourceDir} cannot be read.`, { cause });
  });
  if (!root.isDirectory()) throw new PackageSourceError(`The source ${sourceDir} is not a folder.`);

  const files: SourceFile[] = [];
  let folders = 0;
  let totalSize = 0;
  const pending: string[] = [''];
  for (let folder = pending.pop(); folder !== undefined; folder = pending.pop()) {
    const directory = await opendir(join(sourceDir, folder));
    for await (const entry of directory) {
      const path = folder === '' ? entry.name : `${folder}/${entry.name}`;
      checkPath(path, limits);
      const absolutePath = join(sourceDir, path);
      const info = await lstat(absolutePath);
      if (info.isDirectory()) {
        folders += 1;
        if (folders > limits.maxFolders) {
          throw new PackageLimitError(`The source has more than ${limits.maxFolders} folders.`);
        }
        pending.push(path);
      } else if (info.isFile()) {
        totalSize += info.size;
        files.push({ path, absolutePath, size: info.size, dev: info.dev, ino: info.ino });
        if (files.length > limits.maxFiles) {
          throw new PackageLimitError(`The source has more than ${limits.maxFiles} files.`);
        }
      } else {
        throw new PackageSourceError(`${describeType(info)} cannot be part of a package: ${path}`);
      }
    }
  }
  if (files.length === 0) throw new PackageSourceError(`The source folder ${sourceDir} has no files.`);
  if (totalSize > limits.maxTotalBytes) {
    throw new PackageLimitError(
      `The source holds ${totalSize} bytes; the limit is ${limits.maxTotalBytes} bytes.`,
    );
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, totalSize };
}

function checkPath(path: string, limits: ImportLimits): void {
  const bytes = Buffer.byteLength(path, 'utf8');
  if (bytes > limits.maxPathBytes) {
    throw new PackageLimitError(
      `A path is ${bytes} bytes long; the limit is ${limits.maxPathBytes}: ${path.slice(0, 200)}…`,
    );
  }
  // A name that is not valid UTF-8 arrives with U+FFFD in place of its bytes; it could not be reopened.
  if (path.includes('\uFFFD')) throw new PackageSourceError(`A name is not valid UTF-8: ${path}`);
  const problem = contentPathProblem(path);
  if (problem !== undefined) {
    throw new PackageSourceError(`The path ${problem}: ${JSON.stringify(path)}`);
  }
}

function describeType(info: { isSymbolicLink(): boolean; isFIFO(): boolean; isSocket(): boolean }): string {
  if (info.isSymbolicLink()) return 'A symbolic link';
  if (info.isFIFO()) return 'A named pipe';
  if (info.isSocket()) return 'A socket';
  return 'A device or special file';
}
