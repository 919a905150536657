import { StewardError } from '../../trust/index.js';

/**
 * The root keys this data folder holds do not reach the threshold of the root version in force:
 * the keys were moved offline, or this is not the central site. Nothing was changed.
 */
export class RootKeyOfflineError extends StewardError {
  readonly code = 'ERR_ROOT_KEY_OFFLINE';
  override readonly status = 409;
}

/**
 * A root rotation at a central site with child sites, without `--allow-child-sites`: their site and
 * MP certificates are signed by the root keys being retired, and their agents would refuse them
 * after following the rotation (docs/operations.md). Nothing was changed.
 */
export class RotationChildSitesError extends StewardError {
  readonly code = 'ERR_ROTATION_CHILD_SITES';
  override readonly status = 409;
}
