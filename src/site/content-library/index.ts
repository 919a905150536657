/**
 * The site's content library (DESIGN.md section 5): package import, stored manifests, verification.
 */
export {
  PackageSourceError,
  PackageLimitError,
  PackageVersionExistsError,
  ContentCorruptError,
  contentErrorClasses,
} from './errors.js';
export { libraryNamePattern, isLibraryName } from './layout.js';
export { defaultImportLimits, type ImportLimits } from './source-walk.js';
export { chunkBytes } from './copy-file.js';
export {
  importPackageSource,
  type ImportPackageOptions,
  type ImportProgress,
  type ImportResult,
} from './import-package.js';
export {
  openPackage,
  openPackageFile,
  manifestStamp,
  sameStamp,
  LinkRefusedError,
  type OpenedPackage,
  type PackageFile,
  type ManifestStamp,
} from './open-package.js';
export { verifyPackage, type VerifyPackageOptions, type VerifiedPackage } from './verify-package.js';
export {
  listPackageVersions,
  removePackageVersion,
  removeImportLeftovers,
  type PackageVersionRef,
} from './versions.js';
