import { auditContextFor, AuditUnavailableError, runSecurityAudit } from '../../audit/index.js';
import { adminRoute } from './route-table.js';

/**
 * The security audit over the admin API (docs/audit.md): every Security Planning best practice
 * checked against this site and the hierarchy data it holds. Reading it needs `read` on sites; it
 * shows no secret. The directory check, when a directory is configured, binds as the site's own
 * account and writes a probe entry it then deletes.
 */
export const auditRoutes = [
  adminRoute({
    method: 'GET',
    path: '/audit/security',
    summary: 'Security audit: each Security Planning best practice with pass, warn or fail, evidence and fix',
    tag: 'audit',
    right: { objectClass: 'site', right: 'read' },
    handler: async ({ context }) => {
      const source = context.securityAudit;
      if (source === undefined) {
        throw new AuditUnavailableError('this site cannot run the security audit; run it at its parent site');
      }
      const now = context.now();
      return runSecurityAudit(await auditContextFor(source, context.db, now));
    },
  }),
];
