/**
 * Reading a package version from the library. `openPackage` parses the stored manifest WITHOUT a
 * signature check: the library holds only what this site imported or what `verifyPackage` accepted,
 * and a DP is never trusted by its word anyway (every agent checks C5). Files are reached only
 * through the manifest's own list; a request path is never joined onto a folder.
 */
import type { Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import {
  defaultMaxEnvelopeBytes,
  envelopePayloadBytes,
  parsePayload,
  readEnvelope,
  sha256Hex,
  type ContentManifestPayload,
} from '../../trust/index.js';
import { NotFoundError } from '../site-errors.js';
import { ContentCorruptError } from './errors.js';
import { filesFolderName, isLibraryName, manifestFileName, storedFilePath, versionFolder } from './layout.js';
import { openWithoutLinks, statWithoutLinks } from './safe-open.js';

export type PackageFile = ContentManifestPayload['files'][number];

/** Identity of a stored manifest file, to notice a removed or replaced version cheaply. */
export type ManifestStamp = { dev: number; ino: number; size: number; mtimeMs: number; ctimeMs: number };

export type OpenedPackage = {
  readonly libraryDir: string;
  readonly packageId: string;
  readonly packageVersion: string;
  /** The envelope exactly as stored (and served). */
  readonly manifestEncoded: string;
  readonly manifest: ContentManifestPayload;
  /** SHA-256 of the manifest payload bytes: the hash a policy body names (C5). */
  readonly manifestHash: string;
  readonly stamp: ManifestStamp;
  /** The manifest entry for exactly this path, or undefined. */
  file(path: string): PackageFile | undefined;
  /** Where a listed file is stored, or undefined when the manifest does not list the path. */
  filePath(path: string): string | undefined;
};

/** ERR_NOT_FOUND for a symbolic link met inside the library; `at` says where (for the log only). */
export class LinkRefusedError extends NotFoundError {
  constructor(readonly at: string) {
    super('No such package content.');
  }
}

/** ERR_NOT_FOUND when the version is not in the library, ERR_CONTENT_CORRUPT when its manifest is damaged. */
export async function openPackage(
  libraryDir: string,
  packageId: string,
  packageVersion: string,
): Promise<OpenedPackage> {
  if (!isLibraryName(packageId) || !isLibraryName(packageVersion)) throw notFound(packageId, packageVersion);
  const opened = await openWithoutLinks(libraryDir, [packageId, packageVersion, manifestFileName]);
  if (opened.kind === 'link') throw new LinkRefusedError(opened.at);
  if (opened.kind !== 'opened') throw notFound(packageId, packageVersion);
  let bytes: Buffer;
  try {
    const limit = defaultMaxEnvelopeBytes['content-manifest'];
    if (opened.info.size > limit) {
      throw corrupt(
        packageId,
        packageVersion,
        `its manifest is ${opened.info.size} bytes; the limit is ${limit}`,
      );
    }
    bytes = await opened.handle.readFile();
  } finally {
    await opened.handle.close();
  }
  let manifest: ContentManifestPayload;
  let payloadBytes: Uint8Array;
  try {
    payloadBytes = envelopePayloadBytes(readEnvelope('content-manifest', bytes));
    manifest = parsePayload('content-manifest', payloadBytes);
  } catch (cause) {
    throw corrupt(packageId, packageVersion, 'its manifest cannot be read', cause);
  }
  if (manifest.packageId !== packageId || manifest.packageVersion !== packageVersion) {
    throw corrupt(
      packageId,
      packageVersion,
      `its manifest names ${manifest.packageId} ${manifest.packageVersion}`,
    );
  }
  const byPath = new Map(manifest.files.map((entry) => [entry.path, entry] as const));
  const versionDir = versionFolder(libraryDir, packageId, packageVersion);
  return {
    libraryDir,
    packageId,
    packageVersion,
    manifestEncoded: bytes.toString('utf8'),
    manifest,
    manifestHash: sha256Hex(payloadBytes),
    stamp: stampOf(opened.info),
    file: (path) => byPath.get(path),
    filePath: (path) => (byPath.has(path) ? storedFilePath(versionDir, path) : undefined),
  };
}

/**
 * The current stamp of a version's manifest; ERR_NOT_FOUND when the version is gone. Comparing it
 * with OpenedPackage.stamp tells a cache whether its copy still stands (one lstat per segment).
 */
export async function manifestStamp(
  libraryDir: string,
  packageId: string,
  packageVersion: string,
): Promise<ManifestStamp> {
  if (!isLibraryName(packageId) || !isLibraryName(packageVersion)) throw notFound(packageId, packageVersion);
  const seen = await statWithoutLinks(libraryDir, [packageId, packageVersion, manifestFileName]);
  if (seen.kind === 'link') throw new LinkRefusedError(seen.at);
  if (seen.kind !== 'found') throw notFound(packageId, packageVersion);
  return stampOf(seen.info);
}

export function sameStamp(a: ManifestStamp, b: ManifestStamp): boolean {
  return (
    a.dev === b.dev &&
    a.ino === b.ino &&
    a.size === b.size &&
    a.mtimeMs === b.mtimeMs &&
    a.ctimeMs === b.ctimeMs
  );
}

/**
 * Opens one listed file for reading; the caller closes the handle. ERR_NOT_FOUND when the manifest
 * does not list the path (or a link was planted), ERR_CONTENT_CORRUPT when the stored file is
 * missing or its size differs from the manifest.
 */
export async function openPackageFile(
  pkg: OpenedPackage,
  path: string,
): Promise<{ handle: FileHandle; entry: PackageFile; info: Stats }> {
  const entry = pkg.file(path);
  if (entry === undefined) throw new NotFoundError('No such file in this package.');
  const segments = [pkg.packageId, pkg.packageVersion, filesFolderName, ...entry.path.split('/')];
  const opened = await openWithoutLinks(pkg.libraryDir, segments);
  if (opened.kind === 'link') throw new LinkRefusedError(opened.at);
  if (opened.kind !== 'opened') {
    throw corrupt(
      pkg.packageId,
      pkg.packageVersion,
      `${entry.path} is ${opened.kind === 'missing' ? 'missing' : 'not a regular file'}`,
      undefined,
      entry.path,
    );
  }
  if (opened.info.size !== entry.size) {
    await opened.handle.close();
    const problem = `${entry.path} is ${opened.info.size} bytes; the manifest says ${entry.size}`;
    throw corrupt(pkg.packageId, pkg.packageVersion, problem, undefined, entry.path);
  }
  return { handle: opened.handle, entry, info: opened.info };
}

function stampOf(info: Stats): ManifestStamp {
  return { dev: info.dev, ino: info.ino, size: info.size, mtimeMs: info.mtimeMs, ctimeMs: info.ctimeMs };
}

function notFound(packageId: string, packageVersion: string): NotFoundError {
  return new NotFoundError(
    `Package ${packageId.slice(0, 64)} version ${packageVersion.slice(0, 64)} is not in the content library.`,
  );
}

function corrupt(
  packageId: string,
  packageVersion: string,
  problem: string,
  cause?: unknown,
  path = manifestFileName,
): ContentCorruptError {
  return new ContentCorruptError(
    `Package ${packageId} version ${packageVersion} is damaged in the content library: ${problem}.`,
    [{ path, problem }],
    { cause },
  );
}
