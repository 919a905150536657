/**
 * Package import (DESIGN.md section 5): list the source folder and check every limit, then stream
 * each file once (hashing while copying) into a work folder inside the library, sign the content
 * manifest with the site key, and rename the finished folder into place. A crash or an error leaves
 * no visible package version: the work folder is removed on error, and `removeImportLeftovers`
 * clears what a killed process left behind.
 */
import { lstat, mkdir, mkdtemp, open, realpath, rename, rm } from 'node:fs/promises';
import { dirname, join, relative, isAbsolute } from 'node:path';
import {
  defaultMaxEnvelopeBytes,
  signDocument,
  type ContentManifestPayload,
  type SignedDocument,
  type SigningKey,
} from '../../trust/index.js';
import { InvalidRequestError } from '../site-errors.js';
import { copyAndHash } from './copy-file.js';
import { isErrno } from './errno.js';
import { PackageLimitError, PackageSourceError, PackageVersionExistsError } from './errors.js';
import {
  checkLibraryNames,
  filesFolderName,
  importPrefix,
  manifestFileName,
  storedFilePath,
  versionFolder,
} from './layout.js';
import {
  defaultImportLimits,
  listSourceFolder,
  type ImportLimits,
  type SourceListing,
} from './source-walk.js';

export type ImportProgress = { filesDone: number; filesTotal: number; bytesDone: number; bytesTotal: number };

export type ImportPackageOptions = {
  sourceDir: string;
  libraryDir: string;
  packageId: string;
  packageVersion: string;
  siteCode: string;
  siteKey: SigningKey;
  /** Fixed once per operation: the manifest's issuedAt. */
  now: Date;
  /** Days until the manifest expires; default 3650. */
  manifestValidityDays?: number;
  /** Lower limits than the defaults; maxFiles and maxPathBytes cannot exceed the manifest's. */
  limits?: Partial<ImportLimits>;
  /** Called after the listing, after each file and every 32 MiB within a large file. */
  onProgress?: (progress: ImportProgress) => void;
  /**
   * Folders the source may neither lie in nor contain: the site's data folder, whose keys, key
   * secret, credentials and database would otherwise become package content that any client can
   * download from the distribution point.
   */
  protectedDirs?: readonly string[];
};

export type ImportResult = { manifest: SignedDocument; totalSize: number; fileCount: number };

const dayMs = 24 * 60 * 60 * 1000;
const progressEveryBytes = 32 * 1024 * 1024;
const placeholderHash = '0'.repeat(64);

export async function importPackageSource(options: ImportPackageOptions): Promise<ImportResult> {
  const { libraryDir, packageId, packageVersion } = options;
  checkLibraryNames(packageId, packageVersion);
  const limits = resolveLimits(options.limits);
  const validityDays = options.manifestValidityDays ?? 3650;
  if (!Number.isInteger(validityDays) || validityDays < 1 || validityDays > 36_500) {
    throw new InvalidRequestError('The manifest validity must be a whole number of days from 1 to 36500.');
  }
  const finalDir = versionFolder(libraryDir, packageId, packageVersion);
  await refuseExisting(finalDir, packageId, packageVersion);
  await refuseLibraryInsideSource(options.sourceDir, libraryDir);
  await refuseProtectedOverlap(options.sourceDir, options.protectedDirs ?? []);

  const listing = await listSourceFolder(options.sourceDir, limits);
  const payloadWith = (hashes: readonly string[]) => manifestPayload(options, listing, hashes, validityDays);
  checkManifestSize(signDocument(payloadWith(listing.files.map(() => placeholderHash)), [options.siteKey]));

  await mkdir(libraryDir, { recursive: true });
  const work = await mkdtemp(join(libraryDir, importPrefix));
  let placed = false;
  try {
    const hashes = await copyAll(listing, work, options.onProgress);
    const manifest = signDocument(payloadWith(hashes), [options.siteKey]);
    await writeDurably(join(work, manifestFileName), manifest.encoded);
    await mkdir(dirname(finalDir), { recursive: true });
    await rename(work, finalDir).catch((cause: unknown) => {
      if (isErrno(cause, 'EEXIST', 'ENOTEMPTY', 'ENOTDIR')) throw versionExists(packageId, packageVersion);
      throw cause;
    });
    placed = true;
    await syncFolder(dirname(finalDir));
    return { manifest, totalSize: listing.totalSize, fileCount: listing.files.length };
  } finally {
    if (!placed) await rm(work, { recursive: true, force: true });
  }
}

function resolveLimits(overrides: Partial<ImportLimits> = {}): ImportLimits {
  const limits = { ...defaultImportLimits, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 0)
      throw new RangeError(`Import limit ${name} must be a count.`);
  }
  limits.maxFiles = Math.min(limits.maxFiles, defaultImportLimits.maxFiles);
  limits.maxPathBytes = Math.min(limits.maxPathBytes, defaultImportLimits.maxPathBytes);
  return limits;
}

async function refuseExisting(finalDir: string, packageId: string, packageVersion: string): Promise<void> {
  const exists = await lstat(finalDir).then(
    () => true,
    (cause: unknown) => !isErrno(cause, 'ENOENT'),
  );
  if (exists) throw versionExists(packageId, packageVersion);
}

async function refuseProtectedOverlap(sourceDir: string, protectedDirs: readonly string[]): Promise<void> {
  const source = await realpath(sourceDir).catch(() => sourceDir);
  for (const dir of protectedDirs) {
    const guarded = await realpath(dir).catch(() => dir);
    const inside = (outer: string, inner: string) => {
      const path = relative(outer, inner);
      return path === '' || (!path.startsWith('..') && !isAbsolute(path));
    };
    if (inside(guarded, source) || inside(source, guarded)) {
      throw new PackageSourceError(
        "The source folder overlaps the site's data folder (keys, credentials, database); choose another source.",
      );
    }
  }
}

async function refuseLibraryInsideSource(sourceDir: string, libraryDir: string): Promise<void> {
  const source = await realpath(sourceDir).catch(() => sourceDir);
  const library = await realpath(libraryDir).catch(() => libraryDir);
  const path = relative(source, library);
  if (path === '' || (!path.startsWith('..') && !isAbsolute(path))) {
    throw new PackageSourceError('The content library lies inside the source folder; choose another source.');
  }
}

function manifestPayload(
  options: ImportPackageOptions,
  listing: SourceListing,
  hashes: readonly string[],
  validityDays: number,
): ContentManifestPayload {
  return {
    kind: 'content-manifest',
    version: 1,
    packageId: options.packageId,
    packageVersion: options.packageVersion,
    siteCode: options.siteCode,
    files: listing.files.map((file, index) => ({
      path: file.path,
      size: file.size,
      sha256: hashes[index] ?? '',
    })),
    totalSize: listing.totalSize,
    issuedAt: options.now.toISOString(),
    expiresAt: new Date(options.now.getTime() + validityDays * dayMs).toISOString(),
  };
}

/** C6: the manifest must open on every DP and agent, so its envelope stays under the kind's limit. */
function checkManifestSize(probe: SignedDocument): void {
  const bytes = Buffer.byteLength(probe.encoded, 'utf8');
  const limit = defaultMaxEnvelopeBytes['content-manifest'];
  if (bytes > limit) {
    throw new PackageLimitError(
      `The manifest would be ${bytes} bytes; the limit is ${limit}. Shorten the paths.`,
    );
  }
}

async function copyAll(
  listing: SourceListing,
  work: string,
  onProgress: ((progress: ImportProgress) => void) | undefined,
): Promise<string[]> {
  const progress = {
    filesDone: 0,
    filesTotal: listing.files.length,
    bytesDone: 0,
    bytesTotal: listing.totalSize,
  };
  const report = () => onProgress?.({ ...progress });
  report();
  const madeFolders = new Set<string>();
  const hashes: string[] = [];
  let sinceReport = 0;
  for (const file of listing.files) {
    const destination = storedFilePath(work, file.path);
    const folder = dirname(destination);
    if (!madeFolders.has(folder)) {
      await mkdir(folder, { recursive: true });
      madeFolders.add(folder);
    }
    hashes.push(
      await copyAndHash(file, destination, (bytes) => {
        progress.bytesDone += bytes;
        sinceReport += bytes;
        if (sinceReport >= progressEveryBytes) {
          sinceReport = 0;
          report();
        }
      }),
    );
    progress.filesDone += 1;
    sinceReport = 0;
    report();
  }
  await mkdir(join(work, filesFolderName), { recursive: true });
  return hashes;
}

async function writeDurably(path: string, text: string): Promise<void> {
  const handle = await open(path, 'wx', 0o644);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/** Makes a rename durable where folders can be synced (not on Windows). */
async function syncFolder(path: string): Promise<void> {
  try {
    const handle = await open(path, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Folder sync is unsupported on some platforms; the rename itself is still atomic.
  }
}

function versionExists(packageId: string, packageVersion: string): PackageVersionExistsError {
  return new PackageVersionExistsError(
    `Package ${packageId} version ${packageVersion} is already in the content library; import changed content as a new version.`,
  );
}
