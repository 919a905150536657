import { readSiteConfig } from '../site/data-folder/site-config.js';
import { siteDataLayout } from '../site/data-folder/layout.js';
import { isStewardError } from '../trust/index.js';
import { securityChecks } from './checks/index.js';
import type { AuditContext, AuditResult, SecurityCheck } from './security-check.js';

export interface AuditCheckReport {
  id: string;
  practice: string;
  result: AuditResult;
  evidence: string;
  fix: string;
}

/** What `GET /api/v1/audit/security` answers and `steward audit --json` prints. */
export interface SecurityAuditReport {
  site: { code: string; name: string; type: 'central' | 'primary' | 'secondary'; url: string };
  checkedAt: string;
  summary: { pass: number; warn: number; fail: number };
  /** True when no check failed (warnings allowed). */
  passed: boolean;
  checks: AuditCheckReport[];
}

/** What the site server gives the audit (the rest it reads itself). */
export type SecurityAuditSource = Omit<AuditContext, 'configOnDisk' | 'now' | 'db'>;

/** The audit context for a running site: site.json is read again for the changes awaiting a restart. */
export async function auditContextFor(
  source: SecurityAuditSource,
  db: AuditContext['db'],
  now: Date,
): Promise<AuditContext> {
  const configOnDisk = await readSiteConfig(siteDataLayout(source.dataDir).config).catch(() => undefined);
  return { ...source, db, now, configOnDisk };
}

/**
 * Runs every check, one after another (the directory check binds and writes a probe entry; the
 * rest read the database and the data folder). A check that cannot run fails with the reason:
 * what could not be checked is not known to be safe.
 */
export async function runSecurityAudit(
  context: AuditContext,
  checks: readonly SecurityCheck[] = securityChecks,
): Promise<SecurityAuditReport> {
  const results: AuditCheckReport[] = [];
  for (const check of checks) {
    try {
      const finding = await check.run(context);
      results.push({
        id: check.id,
        practice: check.practice,
        result: finding.result,
        evidence: finding.evidence,
        fix: finding.result === 'pass' ? '' : finding.fix,
      });
    } catch (error) {
      const reason = isStewardError(error)
        ? `${error.code}: ${error.message}`
        : `ERR_INTERNAL: ${error instanceof Error ? error.message.slice(0, 300) : 'unknown error'}`;
      results.push({
        id: check.id,
        practice: check.practice,
        result: 'fail',
        evidence: `The check could not run (${reason}).`,
        fix: 'Look at the site server log, correct the cause and run the audit again.',
      });
    }
  }
  const count = (result: AuditResult) => results.filter((r) => r.result === result).length;
  const summary = { pass: count('pass'), warn: count('warn'), fail: count('fail') };
  return {
    site: {
      code: context.config.code,
      name: context.config.name,
      type: context.config.siteType,
      url: context.url,
    },
    checkedAt: context.now.toISOString(),
    summary,
    passed: summary.fail === 0,
    checks: results,
  };
}
