/** The site's security mode: advanced (per-system identities) or standard (docs/audit.md). */
export {
  securityModes,
  securityModeSchema,
  defaultSecurityMode,
  securityModeOf,
  checkModeChange,
  SecurityModeDowngradeError,
  type SecurityMode,
} from './security-mode.js';
export { switchSecurityMode, type SecurityModeSwitch } from './switch-security-mode.js';
