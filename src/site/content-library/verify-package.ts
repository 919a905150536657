/**
 * Re-checks a stored package version against its manifest: the manifest's signature by a trusted
 * site key and its dates (C5 as an agent would check it), then every file's size and SHA-256,
 * streamed in 1 MiB chunks. A DP runs it before serving content received from elsewhere.
 */
import {
  createContentVerifier,
  isStewardError,
  openDocument,
  type OpenedDocument,
  type TrustedKeys,
} from '../../trust/index.js';
import { chunkBytes } from './copy-file.js';
import { ContentCorruptError } from './errors.js';
import { openPackage, openPackageFile, type OpenedPackage, type PackageFile } from './open-package.js';

export type VerifyPackageOptions = {
  libraryDir: string;
  packageId: string;
  packageVersion: string;
  /** Certified site keys (C2); the manifest must carry a valid signature by one of them. */
  siteKeys: TrustedKeys;
  now: Date;
};

export type VerifiedPackage = {
  manifest: OpenedDocument<'content-manifest'>;
  fileCount: number;
  totalSize: number;
};

/**
 * Trust errors (ERR_UNKNOWN_KEY, ERR_SIGNATURE_INVALID, ERR_EXPIRED…) for the manifest;
 * ERR_CONTENT_CORRUPT listing every damaged file; ERR_NOT_FOUND when the version is absent.
 */
export async function verifyPackage(options: VerifyPackageOptions): Promise<VerifiedPackage> {
  const pkg = await openPackage(options.libraryDir, options.packageId, options.packageVersion);
  const manifest = openDocument('content-manifest', pkg.manifestEncoded, options.siteKeys, 1, options.now);
  const problems: { path: string; problem: string }[] = [];
  const buffer = Buffer.allocUnsafe(chunkBytes);
  for (const entry of manifest.payload.files) {
    const problem = await checkFile(pkg, entry, buffer);
    if (problem !== undefined) problems.push({ path: entry.path, problem });
  }
  if (problems.length > 0) {
    const first = problems[0];
    throw new ContentCorruptError(
      `Package ${pkg.packageId} version ${pkg.packageVersion} has ${problems.length} damaged file(s)` +
        (first === undefined ? '.' : `, first ${first.path}: ${first.problem}.`),
      problems,
    );
  }
  return { manifest, fileCount: manifest.payload.files.length, totalSize: manifest.payload.totalSize };
}

async function checkFile(
  pkg: OpenedPackage,
  entry: PackageFile,
  buffer: Buffer,
): Promise<string | undefined> {
  try {
    const { handle } = await openPackageFile(pkg, entry.path);
    try {
      const verifier = createContentVerifier(entry);
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.byteLength, null);
        if (bytesRead === 0) break;
        verifier.update(buffer.subarray(0, bytesRead));
      }
      verifier.finish();
    } finally {
      await handle.close();
    }
    return undefined;
  } catch (error) {
    if (!isStewardError(error)) throw error;
    return error instanceof ContentCorruptError
      ? (error.problems[0]?.problem ?? error.message)
      : error.message;
  }
}
