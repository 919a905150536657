/**
 * Failure kinds of the content library and the distribution point (docs/errors.md, section
 * Content). A package that is not in the library answers ERR_NOT_FOUND (site-errors.ts).
 */
import { StewardError } from '../../trust/index.js';

/** The source folder holds something a package cannot carry: a symlink, a device, a bad name. */
export class PackageSourceError extends StewardError {
  readonly code = 'ERR_PACKAGE_SOURCE';
}

/** C6: the source folder exceeds a file count, path length or total size limit. */
export class PackageLimitError extends StewardError {
  readonly code = 'ERR_PACKAGE_LIMIT';
  override readonly status = 413;
}

/** A package version is imported once; changed content needs a new version. */
export class PackageVersionExistsError extends StewardError {
  readonly code = 'ERR_PACKAGE_VERSION_EXISTS';
  override readonly status = 409;
}

/** Stored content differs from its manifest (size, hash, missing file, unreadable manifest). */
export class ContentCorruptError extends StewardError {
  readonly code = 'ERR_CONTENT_CORRUPT';
  override readonly status = 503;
  override readonly retryable = true;
  /** Each damaged file (at most the first 100) and what is wrong with it. */
  readonly problems: readonly { path: string; problem: string }[];

  constructor(
    message: string,
    problems: readonly { path: string; problem: string }[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.problems = problems.slice(0, 100);
  }
}

/** Every error class of the content library (docs/errors.md lists each). */
export const contentErrorClasses = [
  PackageSourceError,
  PackageLimitError,
  PackageVersionExistsError,
  ContentCorruptError,
] as const;
