/** The security audit (DESIGN.md section 7; docs/audit.md): the Security Planning best practices as checks. */
export {
  runSecurityAudit,
  auditContextFor,
  type SecurityAuditReport,
  type SecurityAuditSource,
  type AuditCheckReport,
} from './run-audit.js';
export { securityChecks } from './checks/index.js';
export { AuditFailedError, AuditUnavailableError } from './audit-errors.js';
export type {
  AuditContext,
  AuditFinding,
  AuditResult,
  AuditTransport,
  SecurityCheck,
} from './security-check.js';
