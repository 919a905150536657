import { StewardError } from '../../trust/index.js';

/** Failures of site boundaries (docs/errors.md, section Locator). */

/** The text is not a subnet or range, or its kind is not the one stated. */
export class BoundaryInvalidError extends StewardError {
  readonly code = 'ERR_BOUNDARY_INVALID';
}

/**
 * The boundary shares addresses with a boundary of another site: a client there would belong to two
 * sites. Overlap between boundaries of one site is allowed.
 */
export class BoundaryOverlapError extends StewardError {
  readonly code = 'ERR_BOUNDARY_OVERLAP';
  override readonly status = 409;
}

export const boundaryErrorClasses = [BoundaryInvalidError, BoundaryOverlapError] as const;
