import { z } from 'zod';
import { StewardError } from '../../trust/index.js';

/**
 * The site's security mode (DESIGN.md section 1, "advanced / standard security"; docs/audit.md):
 *
 * - `advanced` (the default): every site system has its own identity, its own key, certificate
 *   and (directory) account, installed with a one-time token of its own.
 * - `standard`: site systems share one service account credential, for compatibility with
 *   deployments that cannot give each system an identity. The audit fails it.
 *
 * Switching from standard to advanced is supported; back is refused, as in SMS.
 */
export const securityModes = ['advanced', 'standard'] as const;
export type SecurityMode = (typeof securityModes)[number];
export const securityModeSchema = z.enum(securityModes);

export const defaultSecurityMode: SecurityMode = 'advanced';

/** The mode a site.json declares; sites made before the setting existed are advanced. */
export function securityModeOf(config: { securityMode?: SecurityMode | undefined }): SecurityMode {
  return config.securityMode ?? defaultSecurityMode;
}

/** `steward site security-mode standard` on an advanced site: refused, as in SMS. */
export class SecurityModeDowngradeError extends StewardError {
  readonly code = 'ERR_SECURITY_MODE_DOWNGRADE';
  override readonly status = 409;
}

/** A change of mode that is allowed: standard to advanced, or none. */
export function checkModeChange(from: SecurityMode, to: SecurityMode): 'unchanged' | 'upgraded' {
  if (from === to) return 'unchanged';
  if (from === 'advanced' && to === 'standard') {
    throw new SecurityModeDowngradeError(
      'this site uses advanced security; switching back to standard security is not supported ' +
        '(site systems keep their own identities; a shared service account would weaken every one of them)',
    );
  }
  return 'upgraded';
}
