/** Boundaries: which site serves which network (DESIGN.md section 3). */
export { BoundaryInvalidError, BoundaryOverlapError, boundaryErrorClasses } from './boundary-errors.js';
export {
  parseBoundary,
  parseClientAddress,
  siteForAddresses,
  BoundaryIndex,
  type BoundaryKind,
  type BoundaryMatch,
  type SiteBoundary,
} from './boundary.js';
export {
  listBoundaries,
  getBoundary,
  loadSiteBoundaries,
  createBoundary,
  deleteBoundary,
  boundaryLockKey,
  maxBoundaryDescriptionLength,
  type BoundaryRecord,
  type NewBoundary,
} from './boundary-store.js';
