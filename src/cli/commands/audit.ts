import type { Command } from 'commander';
import { AuditFailedError, type SecurityAuditReport } from '../../audit/index.js';
import { createOutput, runCommand, type Output } from '../../protocol/command-line.js';
import { adminClientFor, withAdminOptions, type AdminOptions } from './admin-options.js';

/**
 * `steward audit`: the security audit of a running site (docs/audit.md), from
 * `GET /api/v1/audit/security`. Exit status 0 when no check failed (warnings allowed), 1 with
 * `error ERR_AUDIT_FAILED` otherwise; with --json the whole report is printed first either way.
 */
export function registerAuditCommand(program: Command): void {
  withAdminOptions(
    program
      .command('audit')
      .description(
        'check the site (and the hierarchy it knows) against the Security Planning best practices; exits 1 when a check fails',
      ),
  ).action((options: AdminOptions) =>
    runCommand(async () => {
      const out = createOutput(options.json === true);
      const report = await (await adminClientFor(options)).get<SecurityAuditReport>('/audit/security');
      out.result(report, () => printReport(out, report));
      const failed = report.checks.filter((check) => check.result === 'fail');
      if (failed.length > 0) {
        throw new AuditFailedError(
          `${failed.length} of ${report.checks.length} checks failed: ${failed.map((c) => c.id).join(', ')}`,
        );
      }
    }),
  );
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `        ${line}`)
    .join('\n');
}

function printReport(out: Output, report: SecurityAuditReport): void {
  out.line(
    `Security audit of site ${report.site.code} "${report.site.name}" (${report.site.type}) at ${report.site.url}, ${report.checkedAt}`,
  );
  for (const check of report.checks) {
    out.line('');
    out.line(`${check.result.toUpperCase().padEnd(6)}  ${check.id}: ${check.practice}`);
    out.line(indent(check.evidence));
    if (check.result !== 'pass') out.line(indent(`To fix: ${check.fix}`));
  }
  out.line('');
  out.line(
    `${report.summary.pass} passed, ${report.summary.warn} warned, ${report.summary.fail} failed` +
      (report.passed ? '.' : ': the failed checks say what to change.'),
  );
}
