/**
 * Where a package version lives in the content library:
 *
 *     <libraryDir>/<packageId>/<packageVersion>/manifest.json   the encoded, site-signed envelope
 *     <libraryDir>/<packageId>/<packageVersion>/files/<path>    each file listed in the manifest
 *     <libraryDir>/.import-*, .remove-*                         work in progress, never a package
 *
 * A package id or version is one folder name: it never contains a separator or starts with a dot.
 */
import { join } from 'node:path';
import { InvalidRequestError } from '../site-errors.js';

/** Package ids and versions: the distribution point's path rule, so every package can be served. */
export const libraryNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export const manifestFileName = 'manifest.json';
export const filesFolderName = 'files';
export const importPrefix = '.import-';
export const removePrefix = '.remove-';

export function isLibraryName(text: string): boolean {
  return libraryNamePattern.test(text);
}

/** ERR_INVALID_REQUEST unless both names follow libraryNamePattern. */
export function checkLibraryNames(packageId: string, packageVersion: string): void {
  for (const [what, value] of [
    ['package id', packageId],
    ['package version', packageVersion],
  ] as const) {
    if (!isLibraryName(value)) {
      throw new InvalidRequestError(
        `The ${what} must be 1 to 64 letters, digits and . _ - starting with a letter or digit.`,
      );
    }
  }
}

export function versionFolder(libraryDir: string, packageId: string, packageVersion: string): string {
  return join(libraryDir, packageId, packageVersion);
}

/** The stored file for a manifest path (already checked by the manifest schema). */
export function storedFilePath(versionDir: string, manifestPath: string): string {
  return join(versionDir, filesFolderName, ...manifestPath.split('/'));
}
