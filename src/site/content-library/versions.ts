/**
 * Listing and removing package versions. Removal first renames the version folder out of sight
 * (a reader sees the whole version or none of it), then deletes it.
 */
import { lstat, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { NotFoundError } from '../site-errors.js';
import { isErrno } from './errno.js';
import { importPrefix, isLibraryName, manifestFileName, removePrefix, versionFolder } from './layout.js';

export type PackageVersionRef = { packageId: string; packageVersion: string };

/** Complete versions in the library (those with a manifest), sorted; one package's when packageId is given. */
export async function listPackageVersions(
  libraryDir: string,
  packageId?: string,
): Promise<PackageVersionRef[]> {
  const ids = packageId === undefined ? await folderNames(libraryDir) : [packageId].filter(isLibraryName);
  const found: PackageVersionRef[] = [];
  for (const id of ids) {
    for (const version of await folderNames(join(libraryDir, id))) {
      const manifest = await lstat(join(libraryDir, id, version, manifestFileName)).catch(() => undefined);
      if (manifest?.isFile() === true) found.push({ packageId: id, packageVersion: version });
    }
  }
  return found;
}

/** ERR_NOT_FOUND when the version is absent. */
export async function removePackageVersion(
  libraryDir: string,
  packageId: string,
  packageVersion: string,
): Promise<void> {
  const missing = new NotFoundError(
    `Package ${packageId.slice(0, 64)} version ${packageVersion.slice(0, 64)} is not in the content library.`,
  );
  if (!isLibraryName(packageId) || !isLibraryName(packageVersion)) throw missing;
  const present = await lstat(versionFolder(libraryDir, packageId, packageVersion)).then(
    () => true,
    () => false,
  );
  if (!present) throw missing;
  const grave = await mkdtemp(join(libraryDir, removePrefix));
  try {
    await rename(versionFolder(libraryDir, packageId, packageVersion), join(grave, 'version'));
  } catch (cause) {
    await rm(grave, { recursive: true, force: true });
    if (isErrno(cause, 'ENOENT', 'ENOTDIR')) throw missing;
    throw cause;
  }
  await rm(grave, { recursive: true, force: true });
}

/**
 * Deletes work folders left by a killed import or removal. Call it at start-up, before any import
 * runs in this library (it would delete a running import's work folder).
 */
export async function removeImportLeftovers(libraryDir: string): Promise<number> {
  const entries = await readdir(libraryDir).catch((cause: unknown) => {
    if (isErrno(cause, 'ENOENT')) return [];
    throw cause;
  });
  const leftovers = entries.filter((name) => name.startsWith(importPrefix) || name.startsWith(removePrefix));
  for (const name of leftovers) await rm(join(libraryDir, name), { recursive: true, force: true });
  return leftovers.length;
}

/** Names of real folders (not links) that follow the library's name rule, sorted. */
async function folderNames(path: string): Promise<string[]> {
  const entries = await readdir(path, { withFileTypes: true }).catch((cause: unknown) => {
    if (isErrno(cause, 'ENOENT', 'ENOTDIR')) return [];
    throw cause;
  });
  return entries
    .filter((entry) => entry.isDirectory() && isLibraryName(entry.name))
    .map((entry) => entry.name)
    .sort();
}
